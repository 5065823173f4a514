CREATE INDEX "flow_runs_tags_idx" ON "flow_runs" USING gin ("tags");
