DROP INDEX "artifacts_key_idx";--> statement-breakpoint
ALTER TABLE "artifacts" ADD COLUMN "version" bigserial NOT NULL;--> statement-breakpoint
CREATE INDEX "artifacts_key_version_idx" ON "artifacts" USING btree ("workspace_id","key","version");