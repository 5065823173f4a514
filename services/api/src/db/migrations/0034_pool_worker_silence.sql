-- What a pool does when one of its workers falls silent (docs/workers.md, "When the API or a worker is cut off").
-- on_worker_silence 'retry': the lease loop crashes and retries the run after lease + grace, as before;
-- 'wait': it waits disconnected_tolerance_seconds past the lease first, so a cut-off worker that goes
-- on never runs beside the retry. disconnected_tolerance_seconds is how long a worker that cannot reach
-- the API keeps running what it holds; NULL means for as long as it takes.
ALTER TABLE "work_pools" ADD COLUMN "on_worker_silence" text DEFAULT 'retry' NOT NULL;
--> statement-breakpoint
ALTER TABLE "work_pools" ADD COLUMN "disconnected_tolerance_seconds" integer DEFAULT 600;
--> statement-breakpoint
ALTER TABLE "work_pools" ADD CONSTRAINT "work_pools_on_worker_silence_ck" CHECK ("on_worker_silence" IN ('retry', 'wait'));
--> statement-breakpoint
ALTER TABLE "work_pools" ADD CONSTRAINT "work_pools_disconnected_tolerance_ck" CHECK ("disconnected_tolerance_seconds" >= 0);
