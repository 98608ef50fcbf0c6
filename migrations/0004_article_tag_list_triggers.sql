-- Custom SQL migration file, put your code below! --
-- `articles.tag_list` (0003) holds each article's tag names in the order the API answers them,
-- `ORDER BY tags.name` in the database collation: what the list query computed per row with a
-- correlated subquery over article_tags and tags, more than half of its time. The triggers below
-- keep it in the transaction of every change to article_tags, whatever issued it: the services,
-- a deleted tag (ON DELETE CASCADE to its links), a bulk insert, SQL by hand. Then it is backfilled.
--
-- Statement triggers with transition tables: one recompute per statement for every distinct
-- article it touched, not one per link. A recompute reads the article's links afresh rather than
-- applying a delta, and writes only the rows whose list really changes.
--
-- Concurrency: the recompute first locks the articles (FOR NO KEY UPDATE, in id order), then
-- reads the links in a new statement, so it sees every link committed by a transaction that held
-- the row before: two transactions changing the same article's tags never write a list that
-- misses the other's links, and two bulk statements lock shared articles in the same order. The
-- services already hold the row (the update locks it FOR UPDATE, the create inserted it).
-- Firing order: PostgreSQL fires the triggers of one event in the alphabetical order of their
-- names. The counter triggers of 0002 on article_tags (`article_tags_count_*`) take
-- `article_counts`, then tags rows, and the documented lock order is article rows, then
-- `article_counts`, then tags; so the triggers here, which take article rows, are named
-- `article_tags_articles_tag_list_*` ("ar" sorts before "co") to fire first. Renaming one breaks
-- the lock order; test/db/article-tag-list.test.ts checks it.
-- Exceptions to that order, never taken by the app: deleting a tag, or renaming one by hand,
-- locks the tag row before its articles' rows; a concurrent write of one of those articles can
-- then deadlock with it, and PostgreSQL aborts one of the two.
--
-- The CREATE TRIGGERs lock article_tags and tags against writes until this migration commits (and
-- 0003's ADD COLUMN holds articles when both run together), so the backfill at the end reads
-- links that no concurrent write can change before the triggers take over.

-- Sets `tag_list` of these articles (each id once, however often listed) from their links.
CREATE FUNCTION "articles_tag_list_refresh"("article_ids" integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF coalesce(cardinality(article_ids), 0) = 0 THEN
		RETURN;
	END IF;
	-- The lock before the read (see above). Articles deleted meanwhile (a cascade) are skipped.
	PERFORM 1 FROM articles WHERE id = ANY (article_ids) ORDER BY id FOR NO KEY UPDATE;
	UPDATE articles SET tag_list = fresh.names
	FROM (
		SELECT ids.id,
			coalesce(array_agg(tags.name ORDER BY tags.name) FILTER (WHERE tags.name IS NOT NULL), '{}') AS names
		FROM (SELECT DISTINCT unnest(article_ids) AS id) AS ids
		LEFT JOIN article_tags ON article_tags.article_id = ids.id
		LEFT JOIN tags ON tags.id = article_tags.tag_id
		GROUP BY ids.id
	) AS fresh
	WHERE articles.id = fresh.id AND articles.tag_list IS DISTINCT FROM fresh.names;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "article_tags_articles_tag_list_linked"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM articles_tag_list_refresh(ARRAY(SELECT article_id FROM linked));
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "article_tags_articles_tag_list_linked" AFTER INSERT ON "article_tags"
REFERENCING NEW TABLE AS "linked" FOR EACH STATEMENT EXECUTE FUNCTION "article_tags_articles_tag_list_linked"();
--> statement-breakpoint
CREATE FUNCTION "article_tags_articles_tag_list_unlinked"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM articles_tag_list_refresh(ARRAY(SELECT article_id FROM unlinked));
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "article_tags_articles_tag_list_unlinked" AFTER DELETE ON "article_tags"
REFERENCING OLD TABLE AS "unlinked" FOR EACH STATEMENT EXECUTE FUNCTION "article_tags_articles_tag_list_unlinked"();
--> statement-breakpoint
-- The services never update a link (they delete and insert); by hand, a link may move to another
-- tag or another article, which changes the lists of the articles on both sides.
CREATE FUNCTION "article_tags_articles_tag_list_relinked"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM articles_tag_list_refresh(ARRAY(
		SELECT article_id FROM unlinked UNION SELECT article_id FROM linked));
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "article_tags_articles_tag_list_relinked" AFTER UPDATE ON "article_tags"
REFERENCING OLD TABLE AS "unlinked" NEW TABLE AS "linked" FOR EACH STATEMENT
EXECUTE FUNCTION "article_tags_articles_tag_list_relinked"();
--> statement-breakpoint
-- TRUNCATE fires no row or transition triggers (also when it cascades from tags or articles).
CREATE FUNCTION "article_tags_articles_tag_list_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE articles SET tag_list = '{}' WHERE tag_list <> '{}';
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "article_tags_articles_tag_list_truncated" AFTER TRUNCATE ON "article_tags"
FOR EACH STATEMENT EXECUTE FUNCTION "article_tags_articles_tag_list_truncated"();
--> statement-breakpoint
-- The app never renames a tag (a tag is its name: a new name is a new tag). A rename by hand would
-- leave the lists stale, so it recomputes the articles of the renamed tag. A row trigger: a
-- statement trigger with transition tables cannot name a column, and without `OF name` it would
-- fire on every update of `tags.articles_count`, the counters' hot path.
CREATE FUNCTION "tags_articles_tag_list_renamed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM articles_tag_list_refresh(ARRAY(SELECT article_id FROM article_tags WHERE tag_id = NEW.id));
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "tags_articles_tag_list_renamed" AFTER UPDATE OF "name" ON "tags"
FOR EACH ROW WHEN (OLD."name" IS DISTINCT FROM NEW."name")
EXECUTE FUNCTION "tags_articles_tag_list_renamed"();
--> statement-breakpoint
-- Backfill from what exists (the triggers above already hold article_tags and tags against
-- writes). Articles without tags keep the column's default, '{}'.
UPDATE "articles" SET "tag_list" = listed.names
FROM (
	SELECT "article_tags"."article_id", array_agg("tags"."name" ORDER BY "tags"."name") AS names
	FROM "article_tags" JOIN "tags" ON "tags"."id" = "article_tags"."tag_id"
	GROUP BY "article_tags"."article_id"
) AS listed
WHERE "articles"."id" = listed."article_id" AND "articles"."tag_list" IS DISTINCT FROM listed.names;
