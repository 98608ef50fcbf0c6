-- Custom migration (drizzle-kit generate --custom): articles that existed before scheduled
-- publishing were published when created; without this they would all share the migration time
-- and lose their order in every list.
UPDATE "articles" SET "published_at" = "created_at";
