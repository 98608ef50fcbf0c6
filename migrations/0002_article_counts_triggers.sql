-- Custom SQL migration file, put your code below! --
-- The article counters of 0001 (`article_counts.published`, `tags.articles_count`: published
-- articles in all, and per tag) are kept by the triggers below, then backfilled.
--
-- Why triggers rather than the services: every change that moves a count is caught in its own
-- transaction whatever issued it, including what never passes through a service: a user deleted
-- with ON DELETE CASCADE to their articles and tag links, bulk inserts (the benchmark seed, the
-- query-plan tests) and SQL run by hand. The rules, with `published` = `published_at IS NOT NULL`:
--   * a published article inserted: +1 (its tags are linked after it, see the links below);
--   * an article published (or unpublished by hand): ±1, and ±1 for each of its tags;
--   * a published article deleted: −1, and −1 for each of its tags (BEFORE the row goes, while
--     its links still exist: the cascade that deletes them runs after it);
--   * a tag linked to or unlinked from an existing published article: ±1 for that tag (links
--     whose article is gone were counted off with the article).
-- Statement triggers with transition tables take a bulk insert in one update per counter row
-- rather than one per inserted row; publish and delete are row triggers (column list and WHEN
-- keep them off the hot `favorites_count` updates, and a row trigger sees OLD before deletion).
--
-- Concurrency: a count moves by an UPDATE of its row, so concurrent writers queue on the row
-- lock and every count stays exact. Every counter change takes the `article_counts` row first
-- (a plain row lock when only tag counts move), so the tag rows are written by one transaction
-- at a time and two writers never wait for each other's tag rows in opposite orders. Lock order:
-- article rows, then `article_counts`, then tags. The articles service resolves tag names before
-- it writes anything counted (src/modules/articles/service.ts `resolveTags`): an INSERT of a tag
-- name waits for a concurrent transaction that holds the same new name, or that moved the
-- count of that tag, so it must never run while holding `article_counts`.
-- Cost: creates, publishes, deletes and tag changes of published articles queue on the one row
-- from their first counted change to their commit (a few statements).
--
-- The CREATE TRIGGERs lock both tables against writes until this migration commits, so the
-- backfill at the end reads a state that no concurrent write can change before the triggers
-- take over.

-- Adds `published_delta` to the total and `tag_delta` to the count of each tag in `tag_ids` (a
-- tag listed n times moves n times).
CREATE FUNCTION "article_counts_add"("published_delta" integer, "tag_ids" integer[], "tag_delta" integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF published_delta = 0 AND coalesce(cardinality(tag_ids), 0) = 0 THEN
		RETURN;
	END IF;
	-- First, always: the lock of every counter (see above).
	IF published_delta = 0 THEN
		PERFORM 1 FROM article_counts WHERE id = 1 FOR NO KEY UPDATE;
	ELSE
		UPDATE article_counts SET published = published + published_delta WHERE id = 1;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'article_counts has lost its row';
	END IF;
	IF cardinality(tag_ids) > 0 THEN
		UPDATE tags SET articles_count = tags.articles_count + moved.delta
		FROM (SELECT tag_id, count(*)::integer * tag_delta AS delta FROM unnest(tag_ids) AS tag_id GROUP BY tag_id) AS moved
		WHERE tags.id = moved.tag_id;
	END IF;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "articles_count_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM article_counts_add((SELECT count(*)::integer FROM inserted WHERE published_at IS NOT NULL), NULL, 0);
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "articles_count_inserted" AFTER INSERT ON "articles"
REFERENCING NEW TABLE AS "inserted" FOR EACH STATEMENT EXECUTE FUNCTION "articles_count_inserted"();
--> statement-breakpoint
CREATE FUNCTION "articles_count_published"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	delta integer := CASE WHEN NEW.published_at IS NULL THEN -1 ELSE 1 END;
BEGIN
	PERFORM article_counts_add(delta, ARRAY(SELECT tag_id FROM article_tags WHERE article_id = NEW.id), delta);
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "articles_count_published" AFTER UPDATE OF "published_at" ON "articles"
FOR EACH ROW WHEN ((OLD."published_at" IS NULL) <> (NEW."published_at" IS NULL))
EXECUTE FUNCTION "articles_count_published"();
--> statement-breakpoint
CREATE FUNCTION "articles_count_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM article_counts_add(-1, ARRAY(SELECT tag_id FROM article_tags WHERE article_id = OLD.id), -1);
	RETURN OLD;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "articles_count_deleted" BEFORE DELETE ON "articles"
FOR EACH ROW WHEN (OLD."published_at" IS NOT NULL) EXECUTE FUNCTION "articles_count_deleted"();
--> statement-breakpoint
CREATE FUNCTION "article_tags_count_linked"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM article_counts_add(0, ARRAY(
		SELECT linked.tag_id FROM linked JOIN articles ON articles.id = linked.article_id
		WHERE articles.published_at IS NOT NULL), 1);
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "article_tags_count_linked" AFTER INSERT ON "article_tags"
REFERENCING NEW TABLE AS "linked" FOR EACH STATEMENT EXECUTE FUNCTION "article_tags_count_linked"();
--> statement-breakpoint
CREATE FUNCTION "article_tags_count_unlinked"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM article_counts_add(0, ARRAY(
		SELECT unlinked.tag_id FROM unlinked JOIN articles ON articles.id = unlinked.article_id
		WHERE articles.published_at IS NOT NULL), -1);
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "article_tags_count_unlinked" AFTER DELETE ON "article_tags"
REFERENCING OLD TABLE AS "unlinked" FOR EACH STATEMENT EXECUTE FUNCTION "article_tags_count_unlinked"();
--> statement-breakpoint
-- The services never update a link (they delete and insert); an UPDATE by hand is both.
CREATE FUNCTION "article_tags_count_relinked"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM article_counts_add(0, ARRAY(
		SELECT unlinked.tag_id FROM unlinked JOIN articles ON articles.id = unlinked.article_id
		WHERE articles.published_at IS NOT NULL), -1);
	PERFORM article_counts_add(0, ARRAY(
		SELECT linked.tag_id FROM linked JOIN articles ON articles.id = linked.article_id
		WHERE articles.published_at IS NOT NULL), 1);
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "article_tags_count_relinked" AFTER UPDATE ON "article_tags"
REFERENCING OLD TABLE AS "unlinked" NEW TABLE AS "linked" FOR EACH STATEMENT
EXECUTE FUNCTION "article_tags_count_relinked"();
--> statement-breakpoint
-- TRUNCATE fires no row or transition triggers; emptying either table empties the counts it feeds.
CREATE FUNCTION "article_counts_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'articles' THEN
		UPDATE article_counts SET published = 0 WHERE id = 1;
	END IF;
	UPDATE tags SET articles_count = 0 WHERE articles_count <> 0;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "articles_count_truncated" AFTER TRUNCATE ON "articles"
FOR EACH STATEMENT EXECUTE FUNCTION "article_counts_truncated"();
--> statement-breakpoint
CREATE TRIGGER "article_tags_count_truncated" AFTER TRUNCATE ON "article_tags"
FOR EACH STATEMENT EXECUTE FUNCTION "article_counts_truncated"();
--> statement-breakpoint
-- Backfill from what exists (the triggers above already hold both tables against writes).
INSERT INTO "article_counts" ("id", "published")
SELECT 1, count(*) FROM "articles" WHERE "published_at" IS NOT NULL;
--> statement-breakpoint
UPDATE "tags" SET "articles_count" = counted.n
FROM (
	SELECT "article_tags"."tag_id", count(*)::integer AS n
	FROM "article_tags" JOIN "articles" ON "articles"."id" = "article_tags"."article_id"
	WHERE "articles"."published_at" IS NOT NULL
	GROUP BY "article_tags"."tag_id"
) AS counted
WHERE "tags"."id" = counted."tag_id";
