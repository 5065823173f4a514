-- The version a worker reports in its heartbeat, shown with it in the worker list.
ALTER TABLE "workers" ADD COLUMN "version" text;
