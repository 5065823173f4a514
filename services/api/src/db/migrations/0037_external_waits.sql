-- External waits: a run waits on a job in another system (deferrable tasks). A worker of the run's
-- pool polls the job under a lease kept on the wait: poll_at is when the next poll (or, once the
-- wait ended without the job ending, the one cancellation) is due; the lease names the poll in
-- flight so that only it may report. polls and failed_polls count all polls and the failures in a
-- row; poll_message and poll_logs are what the last poll said and logged (secrets masked by the
-- worker).
ALTER TABLE "waits" DROP CONSTRAINT "waits_kind_ck";--> statement-breakpoint
ALTER TABLE "waits" ADD CONSTRAINT "waits_kind_ck" CHECK (kind IN ('event', 'until', 'approval', 'token', 'run', 'external'));--> statement-breakpoint
ALTER TABLE "waits" ADD COLUMN "poll_at" timestamp(3) with time zone;--> statement-breakpoint
ALTER TABLE "waits" ADD COLUMN "cancel_pending" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "waits" ADD COLUMN "poll_lease_id" uuid;--> statement-breakpoint
ALTER TABLE "waits" ADD COLUMN "poll_lease_expires_at" timestamp(3) with time zone;--> statement-breakpoint
ALTER TABLE "waits" ADD COLUMN "poll_worker_id" uuid;--> statement-breakpoint
ALTER TABLE "waits" ADD COLUMN "polls" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "waits" ADD COLUMN "failed_polls" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "waits" ADD COLUMN "poll_message" text;--> statement-breakpoint
ALTER TABLE "waits" ADD COLUMN "poll_logs" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
CREATE INDEX "waits_poll_idx" ON "waits" USING btree ("poll_at") WHERE poll_at IS NOT NULL;
