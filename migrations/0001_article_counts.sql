CREATE TABLE "article_counts" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"published" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "article_counts_single_row" CHECK ("article_counts"."id" = 1),
	CONSTRAINT "article_counts_published_nonnegative" CHECK ("article_counts"."published" >= 0)
);
--> statement-breakpoint
ALTER TABLE "tags" ADD COLUMN "articles_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tags" ADD CONSTRAINT "tags_articles_count_nonnegative" CHECK ("tags"."articles_count" >= 0);