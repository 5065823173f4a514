-- Kubernetes work pools: a pool says which executor its workers run (a local process, or a
-- Kubernetes Job per run attempt) and, for Kubernetes, the batch/v1 Job manifest each run's Job
-- starts from. Existing pools are process pools.
ALTER TABLE "work_pools" ADD COLUMN "type" text DEFAULT 'process' NOT NULL;--> statement-breakpoint
ALTER TABLE "work_pools" ADD COLUMN "base_job_template" jsonb;--> statement-breakpoint
ALTER TABLE "work_pools" ADD CONSTRAINT "work_pools_type_ck" CHECK (type IN ('process', 'kubernetes'));
