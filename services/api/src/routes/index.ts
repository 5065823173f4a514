import { apiKeyHandlers } from './api-keys.js';
import { artifactHandlers } from './artifacts.js';
import { auditHandlers } from './audit.js';
import { backfillHandlers } from './backfills.js';
import { childRunHandlers } from './child-runs.js';
import { concurrencyLimitHandlers } from './concurrency-limits.js';
import { deploymentHandlers } from './deployments.js';
import { flowRunActionHandlers } from './flow-run-actions.js';
import { flowRunHandlers } from './flow-runs.js';
import { flowHandlers } from './flows.js';
import { logHandlers } from './logs.js';
import { poolRunHandlers } from './pool-runs.js';
import { scheduleHandlers } from './schedules.js';
import { ssoHandlers } from './sso.js';
import { statsHandlers } from './stats.js';
import { taskRunHandlers } from './task-runs.js';
import type { Handlers } from './types.js';
import { memberHandlers } from './users.js';
import { whoamiHandlers } from './whoami.js';
import { workPoolHandlers } from './work-pools.js';
import { workerHandlers } from './workers.js';

export const handlers: Handlers = {
  ...whoamiHandlers,
  ...apiKeyHandlers,
  ...flowHandlers,
  ...deploymentHandlers,
  ...workPoolHandlers,
  ...workerHandlers,
  ...poolRunHandlers,
  ...flowRunHandlers,
  ...flowRunActionHandlers,
  ...concurrencyLimitHandlers,
  ...taskRunHandlers,
  ...logHandlers,
  ...scheduleHandlers,
  ...backfillHandlers,
  ...statsHandlers,
  ...childRunHandlers,
  ...artifactHandlers,
  ...memberHandlers,
  ...ssoHandlers,
  ...auditHandlers,
};
