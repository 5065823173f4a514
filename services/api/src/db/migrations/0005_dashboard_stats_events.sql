CREATE INDEX "flow_runs_stats_idx" ON "flow_runs" USING btree ("workspace_id","expected_start_time","state_type","deployment_id");--> statement-breakpoint
CREATE INDEX "flow_runs_workspace_late_idx" ON "flow_runs" USING btree ("workspace_id","expected_start_time") WHERE state_type = 'SCHEDULED' AND state_name = 'Late';--> statement-breakpoint
-- Live run events: every run created, and every change of its state or attempt, is announced as
-- "<workspace id>:<run id>" on outpost_run_events at commit, whichever code path wrote it (create,
-- claim, proposals, loops). Listeners re-read the run scoped to its workspace; lease renewals and
-- other writes that leave the state alone announce nothing.
CREATE FUNCTION "outpost_notify_run_event"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outpost_run_events', NEW.workspace_id::text || ':' || NEW.id::text);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "flow_runs_event_on_insert" AFTER INSERT ON "flow_runs"
  FOR EACH ROW EXECUTE FUNCTION "outpost_notify_run_event"();--> statement-breakpoint
CREATE TRIGGER "flow_runs_event_on_change" AFTER UPDATE ON "flow_runs"
  FOR EACH ROW WHEN (
    OLD.state_type IS DISTINCT FROM NEW.state_type OR OLD.state_name IS DISTINCT FROM NEW.state_name
    OR OLD.state_timestamp IS DISTINCT FROM NEW.state_timestamp OR OLD.attempt IS DISTINCT FROM NEW.attempt
  ) EXECUTE FUNCTION "outpost_notify_run_event"();
