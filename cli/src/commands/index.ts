import type { Command } from '../command.js';
import {
  assetsCheck,
  assetsGet,
  assetsLs,
  assetsMaterializations,
  assetsMaterialize,
  assetsPartitions,
  assetsWaive,
  partitionsAdd,
  partitionsLs,
  partitionsRm,
} from './assets.js';
import { assetsLineage } from './assets-lineage.js';
import { auditExport, auditLs, auditVerify } from './audit.js';
import {
  automationsCreate,
  automationsDisable,
  automationsEdit,
  automationsEnable,
  automationsFirings,
  automationsGet,
  automationsLs,
  automationsQuarantine,
  automationsRm,
} from './automations.js';
import {
  backfillsCancel,
  backfillsCreate,
  backfillsGet,
  backfillsList,
  backfillsLs,
  backfillsPartitions,
  backfillsPause,
  backfillsResume,
  backfillsRetryFailed,
} from './backfills.js';
import { completion } from './completion.js';
import { concurrencyLimitsLs, concurrencyLimitsRm, concurrencyLimitsSet } from './concurrency-limits.js';
import { deploy } from './deploy.js';
import { deployKeysCreate } from './deploy-keys.js';
import { deploymentsLs } from './deployments.js';
import {
  deploymentsPause,
  deploymentsResume,
  deploymentsSetConcurrency,
  schedulesLs,
  schedulesPause,
  schedulesResume,
  schedulesUpdate,
} from './deployments-schedules.js';
import { dev } from './dev.js';
import { eventsEmit, eventsLs, eventsTail } from './events.js';
import { groupsList, groupsMembers, groupsRoles } from './groups.js';
import { init } from './init.js';
import { keysCreate, keysLs, keysRevoke } from './keys.js';
import { logs, runsLogs } from './logs.js';
import { poolsCreate, poolsGet, poolsLs, poolsPause, poolsResume, poolsUpdate } from './pools.js';
import { quotas } from './quotas.js';
import { run } from './run.js';
import { runsCancel, runsGet, runsLs, runsRetry } from './runs.js';
import { runsAttempts } from './runs-attempts.js';
import { runsArtifacts, runsStates } from './runs-history.js';
import { runsManifest, runsReproduce } from './runs-manifest.js';
import { runsTasks } from './runs-tasks.js';
import { sensorsGet, sensorsLs, sensorsPause, sensorsResume, sensorsTick, sensorsTicks } from './sensors.js';
import { serverOrganisationsSetOwner, serverQuota, serverRotateKey, serverStart, serverUsersVerifyEmail } from './server.js';
import { usage } from './usage.js';
import { usersAdd, usersLs, usersResetPassword, usersRm, usersSetRole } from './users.js';
import { tokensComplete, waitsApprove, waitsLs, waitsReject } from './waits.js';
import { webhooksCreate, webhooksLs, webhooksRm, webhooksRotate } from './webhooks.js';
import { whoami } from './whoami.js';
import { workerStart } from './worker.js';
import { workersLs } from './workers.js';

/** Every command, in the order `outpost --help` lists them. */
export const COMMANDS: readonly Command[] = [
  init,
  dev,
  deploy,
  deployKeysCreate,
  run,
  logs,
  runsLs,
  runsGet,
  runsLogs,
  runsStates,
  runsAttempts,
  runsTasks,
  runsArtifacts,
  runsManifest,
  runsCancel,
  runsRetry,
  runsReproduce,
  deploymentsLs,
  deploymentsPause,
  deploymentsResume,
  deploymentsSetConcurrency,
  schedulesLs,
  schedulesPause,
  schedulesResume,
  schedulesUpdate,
  assetsLs,
  assetsGet,
  assetsMaterialize,
  assetsCheck,
  assetsPartitions,
  assetsMaterializations,
  assetsLineage,
  assetsWaive,
  partitionsLs,
  partitionsAdd,
  partitionsRm,
  backfillsCreate,
  backfillsLs,
  backfillsList,
  backfillsGet,
  backfillsPartitions,
  backfillsPause,
  backfillsResume,
  backfillsCancel,
  backfillsRetryFailed,
  automationsLs,
  automationsGet,
  automationsCreate,
  automationsEdit,
  automationsRm,
  automationsEnable,
  automationsDisable,
  automationsFirings,
  automationsQuarantine,
  sensorsLs,
  sensorsGet,
  sensorsTicks,
  sensorsPause,
  sensorsResume,
  sensorsTick,
  concurrencyLimitsLs,
  concurrencyLimitsSet,
  concurrencyLimitsRm,
  poolsLs,
  poolsCreate,
  poolsGet,
  poolsUpdate,
  poolsPause,
  poolsResume,
  workersLs,
  keysCreate,
  keysLs,
  keysRevoke,
  usersLs,
  usersAdd,
  usersSetRole,
  usersRm,
  usersResetPassword,
  auditLs,
  auditExport,
  auditVerify,
  waitsLs,
  waitsApprove,
  waitsReject,
  tokensComplete,
  eventsLs,
  eventsTail,
  eventsEmit,
  webhooksCreate,
  webhooksLs,
  webhooksRotate,
  webhooksRm,
  whoami,
  quotas,
  usage,
  groupsList,
  groupsMembers,
  groupsRoles,
  completion,
  serverStart,
  serverRotateKey,
  serverQuota,
  serverUsersVerifyEmail,
  serverOrganisationsSetOwner,
  workerStart,
];
