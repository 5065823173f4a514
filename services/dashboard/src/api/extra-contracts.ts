/**
 * Contracts of the routes the dashboard calls outside the generic route calls (sessions, the event
 * stream, stats). They live in `@outpost/sdk/contracts` with the rest of the API; this module only
 * gathers them for the dashboard's endpoint helpers.
 */
export {
  AuthSessionCreateRequest,
  AuthSessionCreateResponse,
  AuthSessionDeleteResponse,
  FlowRunEvent,
  StateCounts,
  StatsOverviewQuery,
  StatsOverviewResponse,
  StatsWindow,
} from '@outpost/sdk/contracts';
