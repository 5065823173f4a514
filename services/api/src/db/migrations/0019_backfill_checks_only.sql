-- An asset backfill may run only its assets' checks, partition by partition, against stored data.
ALTER TABLE "backfills" ADD COLUMN "checks_only" boolean DEFAULT false NOT NULL;
