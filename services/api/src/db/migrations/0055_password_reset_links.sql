-- A password reset link is an emailed link of its own kind: it works on /auth/password-reset/confirm
-- only (and a confirmation or invitation link only on /auth/email/confirm), for 30 minutes, once.
-- Stored like every emailed link, as the sha256 of its token; expired ones go with the others (db/retention.ts).
ALTER TABLE "email_tokens" ADD COLUMN "purpose" text DEFAULT 'confirm' NOT NULL;
