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
import { auditExport, auditLs } from './audit.js';
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
import { deploymentsLs } from './deployments.js';
import { deploymentsPause, deploymentsResume, schedulesLs, schedulesPause, schedulesResume } from './deployments-schedules.js';
import { dev } from './dev.js';
import { init } from './init.js';
import { keysCreate, keysLs, keysRevoke } from './keys.js';
import { logs, runsLogs } from './logs.js';
import { poolsCreate, poolsLs, poolsPause, poolsResume } from './pools.js';
import { run } from './run.js';
import { runsCancel, runsGet, runsLs, runsRetry } from './runs.js';
import { runsAttempts } from './runs-attempts.js';
import { runsArtifacts, runsStates } from './runs-history.js';
import { runsTasks } from './runs-tasks.js';
import { serverRotateKey, serverStart } from './server.js';
import { usersAdd, usersLs, usersResetPassword, usersRm, usersSetRole } from './users.js';
import { whoami } from './whoami.js';
import { workerStart } from './worker.js';
import { workersLs } from './workers.js';

/** Every command, in the order `outpost --help` lists them. */
export const COMMANDS: readonly Command[] = [
  init,
  dev,
  deploy,
  run,
  logs,
  runsLs,
  runsGet,
  runsLogs,
  runsStates,
  runsAttempts,
  runsTasks,
  runsArtifacts,
  runsCancel,
  runsRetry,
  deploymentsLs,
  deploymentsPause,
  deploymentsResume,
  schedulesLs,
  schedulesPause,
  schedulesResume,
  assetsLs,
  assetsGet,
  assetsMaterialize,
  assetsCheck,
  assetsPartitions,
  assetsMaterializations,
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
  concurrencyLimitsLs,
  concurrencyLimitsSet,
  concurrencyLimitsRm,
  poolsLs,
  poolsCreate,
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
  whoami,
  completion,
  serverStart,
  serverRotateKey,
  workerStart,
];
