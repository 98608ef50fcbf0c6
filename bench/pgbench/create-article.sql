-- What POST /api/articles runs in PostgreSQL (src/modules/articles/service.ts createArticle,
-- tagging.ts, publishing.ts, src/jobs/outbox.ts), one transaction per pgbench transaction:
-- resolve the tags (existing ones: read only), insert the article (unique slug; the counter and
-- tag-list triggers fire as they do for the API), link two tags, record the
-- notifications.article-published outbox row, read the article back, commit.
-- Run by bench/pgbench.ts with -D author_min=… -D author_max=… (the writers' ids: no followers).
\set author random(:author_min, :author_max)
\set t1 random_zipfian(0, 49, 1.1)
\set t2 random_zipfian(0, 49, 1.1)
BEGIN;
SELECT id, name FROM tags WHERE name IN ('tag' || :t1::int, 'tag' || :t2::int);
INSERT INTO articles (slug, title, description, body, author_id)
  VALUES ('pgbench-' || gen_random_uuid(), 'pgbench article ' || :client_id::int, 'Written by pgbench',
          repeat('Lorem ipsum dolor sit amet, consectetur adipiscing elit. ', 25), :author::int)
  ON CONFLICT (slug) DO NOTHING
  RETURNING id AS article_id \gset
INSERT INTO article_tags (article_id, tag_id)
  SELECT :article_id::int, id FROM tags WHERE name IN ('tag' || :t1::int, 'tag' || :t2::int)
  ON CONFLICT DO NOTHING;
INSERT INTO job_outbox (name, payload, dedupe_key)
  VALUES ('notifications.article-published', jsonb_build_object('articleId', :article_id::int),
          'article-published:' || :article_id::int)
  ON CONFLICT (dedupe_key) DO NOTHING
  RETURNING id;
SELECT a.id, a.slug, a.title, a.description, a.body, a.tag_list, a.created_at, a.updated_at,
       a.published_at, a.favorites_count, u.username, u.bio, u.image
  FROM articles a JOIN users u ON u.id = a.author_id
  WHERE a.id = :article_id::int;
COMMIT;
