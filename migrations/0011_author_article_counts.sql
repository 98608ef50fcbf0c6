CREATE TABLE "author_article_counts" (
	"author_id" integer PRIMARY KEY NOT NULL,
	"published" integer NOT NULL,
	CONSTRAINT "author_article_counts_published_nonnegative" CHECK ("author_article_counts"."published" >= 0)
);
--> statement-breakpoint
ALTER TABLE "author_article_counts" ADD CONSTRAINT "author_article_counts_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;