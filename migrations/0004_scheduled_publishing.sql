DROP INDEX "articles_created_at_idx";--> statement-breakpoint
DROP INDEX "articles_author_created_at_idx";--> statement-breakpoint
ALTER TABLE "articles" ADD COLUMN "published_at" timestamp with time zone DEFAULT now();--> statement-breakpoint
ALTER TABLE "articles" ADD COLUMN "publish_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "articles_published_at_idx" ON "articles" USING btree ("published_at","id");--> statement-breakpoint
CREATE INDEX "articles_author_published_at_idx" ON "articles" USING btree ("author_id","published_at","id");--> statement-breakpoint
CREATE INDEX "articles_scheduled_publish_at_idx" ON "articles" USING btree ("publish_at") WHERE "articles"."published_at" is null;