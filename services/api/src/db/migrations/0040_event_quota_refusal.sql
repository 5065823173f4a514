-- Refuses a tenant's events from inside the statement that stores them (quotas/events-per-day.ts):
-- storing, counting and the quota check are one statement and one round trip, and a batch the day
-- has no room for leaves nothing behind. VOLATILE, so the planner never folds a call away.
CREATE FUNCTION "outpost_events_quota_refused"() RETURNS int LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'outpost_events_quota_refused';
END
$$;
