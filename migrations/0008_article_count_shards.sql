CREATE TABLE "article_count_shards" (
	"tag_id" integer NOT NULL,
	"shard" integer NOT NULL,
	"published" integer NOT NULL,
	CONSTRAINT "article_count_shards_pkey" PRIMARY KEY("tag_id","shard")
);
