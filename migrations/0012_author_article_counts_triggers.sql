-- Custom SQL migration file, put your code below! --
-- `author_article_counts` (0011): each author's published articles, the feed's articlesCount as
-- a sum over the followed authors' rows instead of a count of their articles. Kept by the
-- triggers below in the transaction of every change, whatever issued it (the services, the
-- publish job and the due sweep, ON DELETE CASCADE from a deleted user, bulk SQL), with
-- `published` = `published_at IS NOT NULL`:
--   * published articles inserted: +n for each author (a statement trigger with a transition
--     table: one upsert per author, however many rows the statement inserts);
--   * an article published or unpublished, or moved to another author by hand: −1 for the author
--     it was counted under, +1 for the one it is counted under now (a row trigger; the column list
--     and WHEN keep it off the `favorites_count` updates);
--   * published articles deleted: −n for each author (a statement trigger with a transition
--     table, after the rows are gone);
--   * TRUNCATE of articles: every counter emptied.
-- An author has a row from their first published article on; no row counts as 0.
--
-- Decrements only UPDATE, never insert: an author whose row is gone is being deleted (ON DELETE
-- CASCADE from users removes their row and their articles in the same statement, in either
-- order), and a counter row for them would break its foreign key or outlive them.
--
-- Concurrency: a count moves by a write to its author's row, which concurrent writers of the
-- same author queue on until commit (and so every count stays exact); writers of different
-- authors never touch the same row. A statement that moves several authors writes their rows in
-- author_id order, so two of them never wait for each other in opposite orders.
--
-- The backfill at the end counts what exists under a SHARE lock on articles: no write can move a
-- count between the count and the triggers taking over at commit.

-- Adds `delta` to the count of `author`: an upsert for an increment, an UPDATE for a decrement.
CREATE FUNCTION "author_article_counts_add"("author" integer, "delta" integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF delta > 0 THEN
		INSERT INTO author_article_counts AS counts (author_id, published) VALUES (author, delta)
		ON CONFLICT (author_id) DO UPDATE SET published = counts.published + excluded.published;
	ELSIF delta < 0 THEN
		UPDATE author_article_counts SET published = published + delta WHERE author_id = author;
	END IF;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "author_article_counts_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO author_article_counts AS counts (author_id, published)
	SELECT author_id, count(*)::integer FROM inserted WHERE published_at IS NOT NULL
	GROUP BY author_id ORDER BY author_id
	ON CONFLICT (author_id) DO UPDATE SET published = counts.published + excluded.published;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "author_article_counts_inserted" AFTER INSERT ON "articles"
REFERENCING NEW TABLE AS "inserted" FOR EACH STATEMENT EXECUTE FUNCTION "author_article_counts_inserted"();
--> statement-breakpoint
CREATE FUNCTION "author_article_counts_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	moved record;
BEGIN
	FOR moved IN
		SELECT author_id, sum(delta)::integer AS delta FROM (VALUES
			(OLD.author_id, CASE WHEN OLD.published_at IS NULL THEN 0 ELSE -1 END),
			(NEW.author_id, CASE WHEN NEW.published_at IS NULL THEN 0 ELSE 1 END)
		) AS changes (author_id, delta)
		GROUP BY author_id ORDER BY author_id
	LOOP
		PERFORM author_article_counts_add(moved.author_id, moved.delta);
	END LOOP;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "author_article_counts_updated" AFTER UPDATE OF "published_at", "author_id" ON "articles"
FOR EACH ROW WHEN (
	(OLD."published_at" IS NULL) <> (NEW."published_at" IS NULL)
	OR (NEW."published_at" IS NOT NULL AND OLD."author_id" <> NEW."author_id")
) EXECUTE FUNCTION "author_article_counts_updated"();
--> statement-breakpoint
CREATE FUNCTION "author_article_counts_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	moved record;
BEGIN
	FOR moved IN
		SELECT author_id, count(*)::integer AS n FROM deleted WHERE published_at IS NOT NULL
		GROUP BY author_id ORDER BY author_id
	LOOP
		PERFORM author_article_counts_add(moved.author_id, -moved.n);
	END LOOP;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "author_article_counts_deleted" AFTER DELETE ON "articles"
REFERENCING OLD TABLE AS "deleted" FOR EACH STATEMENT EXECUTE FUNCTION "author_article_counts_deleted"();
--> statement-breakpoint
-- TRUNCATE fires no row or transition triggers.
CREATE FUNCTION "author_article_counts_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM author_article_counts;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "author_article_counts_truncated" AFTER TRUNCATE ON "articles"
FOR EACH STATEMENT EXECUTE FUNCTION "author_article_counts_truncated"();
--> statement-breakpoint
LOCK TABLE "articles" IN SHARE MODE;
--> statement-breakpoint
INSERT INTO "author_article_counts" ("author_id", "published")
SELECT "author_id", count(*)::integer FROM "articles" WHERE "published_at" IS NOT NULL
GROUP BY "author_id" ORDER BY "author_id";
