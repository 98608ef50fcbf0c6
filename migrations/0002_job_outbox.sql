CREATE TYPE "public"."job_outbox_status" AS ENUM('pending', 'enqueued', 'done', 'failed');--> statement-breakpoint
CREATE TABLE "job_outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"payload" jsonb NOT NULL,
	"dedupe_key" text,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"status" "job_outbox_status" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"enqueued_at" timestamp with time zone,
	"done_at" timestamp with time zone,
	CONSTRAINT "job_outbox_dedupe_key_key" UNIQUE("dedupe_key"),
	CONSTRAINT "job_outbox_attempts_nonnegative" CHECK ("job_outbox"."attempts" >= 0)
);
--> statement-breakpoint
CREATE INDEX "job_outbox_open_idx" ON "job_outbox" USING btree ("status","run_at") WHERE "job_outbox"."status" in ('pending', 'enqueued');