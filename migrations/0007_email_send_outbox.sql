-- Every email's send job lives in the job outbox, recorded with its email_log row (src/email/log.ts);
-- the outbox sweep is the one safety net for a lost enqueue. Emails queued or being sent before
-- that have no outbox row: record one each, with the dedupe key the code uses, so the sweep
-- enqueues them (a row already sent by then is skipped by the send job's claim).
INSERT INTO "job_outbox" ("name", "payload", "dedupe_key")
SELECT 'email.send', jsonb_build_object('emailId', "id"), 'email.send:' || "id"
FROM "email_log"
WHERE "status" IN ('queued', 'sending')
ORDER BY "id"
ON CONFLICT ("dedupe_key") DO NOTHING;
