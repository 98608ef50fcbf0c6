-- Custom SQL migration file, put your code below! --
-- The article counters move from one row per counter (`article_counts`, `tags.articles_count`)
-- to `article_count_shards` (0008): the same triggers of 0002 call `article_counts_add`, which now
-- adds to the shard of the transaction's database backend instead of updating the counter row.
--
-- Why: with one row per counter, every article create, publish, delete or tag change waited for
-- the row lock of `article_counts` held by the one before it until its commit (WAL flush
-- included), so all article writes in the system ran one at a time. A backend runs one
-- transaction at a time, so a shard keyed by `pg_backend_pid()` is written by nobody else while
-- that transaction holds it: writers never wait on a counter. Counts stay exact: a counter is the
-- sum of its shards, and every change is in the transaction of the row change that caused it.
--
-- Compaction (`article_counts_compact`, run by the `articles.compact-counts` job) folds the
-- shards of backends that are not writing into shard 0, so a counter has at most one shard per
-- backend that moved it since the last compaction. It takes only shards no transaction holds
-- (SKIP LOCKED), so it never waits for a writer; a writer whose idle shard it is folding at that
-- moment waits for that one short statement.
--
-- `article_counts` and `tags.articles_count` are no longer written from here on; they stay for
-- one release, so that an instance still running the code before this migration reads a stale
-- count instead of failing. The view is how the code reads the counters now.
--
-- The backfill counts what exists under SHARE locks on articles and article_tags: no write can
-- move a count between the count and the new trigger function taking over at commit.

CREATE VIEW "article_count_totals" AS
SELECT "tag_id", sum("published")::integer AS "published"
FROM "article_count_shards"
GROUP BY "tag_id";
--> statement-breakpoint
-- Adds `published_delta` to the total (tag_id 0) and `tag_delta` to the count of each tag in
-- `tag_ids` (a tag listed n times moves n times). Rows in tag_id order: one lock order.
CREATE OR REPLACE FUNCTION "article_counts_add"("published_delta" integer, "tag_ids" integer[], "tag_delta" integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO article_count_shards AS shards (tag_id, shard, published)
	SELECT moved.tag_id, pg_backend_pid(), moved.delta
	FROM (
		SELECT 0 AS tag_id, published_delta AS delta WHERE published_delta <> 0
		UNION ALL
		SELECT tag_id, count(*)::integer * tag_delta FROM unnest(tag_ids) AS tag_id GROUP BY tag_id
	) AS moved
	WHERE moved.delta <> 0
	ORDER BY moved.tag_id
	ON CONFLICT (tag_id, shard) DO UPDATE SET published = shards.published + excluded.published;
END
$$;
--> statement-breakpoint
-- TRUNCATE fires no row or transition triggers; emptying either table empties the counts it feeds.
CREATE OR REPLACE FUNCTION "article_counts_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'articles' THEN
		DELETE FROM article_count_shards;
	ELSE
		DELETE FROM article_count_shards WHERE tag_id <> 0;
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
-- Folds every shard other than 0 that no transaction holds into shard 0; returns how many shards
-- it folded.
CREATE FUNCTION "article_counts_compact"() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	folded integer;
BEGIN
	WITH idle AS (
		SELECT tag_id, shard FROM article_count_shards WHERE shard <> 0
		ORDER BY tag_id, shard FOR UPDATE SKIP LOCKED
	), moved AS (
		DELETE FROM article_count_shards AS shards USING idle
		WHERE shards.tag_id = idle.tag_id AND shards.shard = idle.shard
		RETURNING shards.tag_id, shards.published
	), summed AS (
		INSERT INTO article_count_shards AS shards (tag_id, shard, published)
		SELECT tag_id, 0, sum(published)::integer FROM moved GROUP BY tag_id ORDER BY tag_id
		ON CONFLICT (tag_id, shard) DO UPDATE SET published = shards.published + excluded.published
	)
	-- A data-modifying WITH runs whether or not the outer query reads it.
	SELECT count(*)::integer INTO folded FROM moved;
	RETURN folded;
END
$$;
--> statement-breakpoint
LOCK TABLE "articles", "article_tags" IN SHARE MODE;
--> statement-breakpoint
INSERT INTO "article_count_shards" ("tag_id", "shard", "published")
SELECT 0, 0, count(*)::integer FROM "articles" WHERE "published_at" IS NOT NULL
UNION ALL
SELECT "article_tags"."tag_id", 0, count(*)::integer
FROM "article_tags" JOIN "articles" ON "articles"."id" = "article_tags"."article_id"
WHERE "articles"."published_at" IS NOT NULL
GROUP BY "article_tags"."tag_id";
