import { dynamicPartitionHandlers } from '../assets/partition-handlers.js';
import { automationHandlers } from '../automations/handlers.js';
import { backfillHandlers } from '../backfills/handlers.js';
import { deploymentHandlers } from '../deployments/handlers.js';
import { scheduleHandlers } from '../deployments/schedule-handlers.js';
import type { EventHub } from '../events/event-hub.js';
import { runEventHandlers } from '../events/handlers.js';
import { ledgerHandlers } from '../events/ledger-handlers.js';
import { eventWebhookHandlers } from '../events/webhook-handlers.js';
import { apiDocsHandlers } from '../http/docs-handlers.js';
import { metricsHandlers } from '../http/metrics-handlers.js';
import type { Handlers } from '../http/route-types.js';
import { accountHandlers } from '../identity/account-handlers.js';
import { apiKeyHandlers } from '../identity/api-key-handlers.js';
import { auditExportHandlers, auditHandlers } from '../identity/audit-handlers.js';
import { authHandlers } from '../identity/auth-handlers.js';
import { jwksHandlers } from '../identity/jwks-handlers.js';
import { organisationAuditHandlers } from '../identity/organisation-audit-handlers.js';
import { organisationGroupHandlers } from '../identity/organisation-group-handlers.js';
import { organisationHandlers } from '../identity/organisation-handlers.js';
import { organisationQuotaHandlers } from '../identity/organisation-quota-handlers.js';
import { organisationSsoHandlers } from '../identity/organisation-sso-handlers.js';
import { organisationUsageHandlers } from '../identity/organisation-usage-handlers.js';
import { scimHandlers } from '../identity/scim/handlers.js';
import { oidcBrowserHandlers, ssoHandlers } from '../identity/sso-handlers.js';
import { memberHandlers, passwordHandlers } from '../identity/user-handlers.js';
import { whoamiHandlers } from '../identity/whoami-handlers.js';
import { assetRunHandlers } from '../materialization/asset-run-handlers.js';
import { workPoolHandlers } from '../pools/handlers.js';
import { quotaHandlers } from '../quotas/handlers.js';
import { flowRunActionHandlers } from '../runs/action-handlers.js';
import { artifactHandlers } from '../runs/artifact-handlers.js';
import { childRunHandlers } from '../runs/child-run-handlers.js';
import { concurrencyLimitHandlers } from '../runs/concurrency-limit-handlers.js';
import { flowHandlers } from '../runs/flow-handlers.js';
import { flowRunHandlers } from '../runs/flow-run-handlers.js';
import { logHandlers } from '../runs/log-handlers.js';
import { runManifestHandlers } from '../runs/manifest-handlers.js';
import { poolRunHandlers } from '../runs/pool-run-handlers.js';
import type { RunEventHub } from '../runs/run-event-hub.js';
import { statsHandlers } from '../runs/stats-handlers.js';
import { taskRunHandlers } from '../runs/task-run-handlers.js';
import { workerHandlers } from '../runs/worker-handlers.js';
import { sensorHandlers } from '../sensors/handlers.js';
import { waitHandlers } from '../waits/handlers.js';
import { assetHandlers } from './assets.js';
import { alertRuleHandlers, notificationHandlers } from './notifications.js';

/** What the handlers share with the rest of one app: the hub its event streams hang on. */
export interface HandlerScope {
  runEvents: RunEventHub;
  /** The live streams of the event ledger. */
  ledgerEvents: EventHub;
}

/** The handler of every route of the table, for one app. */
export function routeHandlers(scope: HandlerScope): Handlers {
  return {
    ...whoamiHandlers,
    ...organisationHandlers,
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
    ...runManifestHandlers,
    ...artifactHandlers,
    ...assetHandlers,
    ...assetRunHandlers,
    ...dynamicPartitionHandlers,
    ...memberHandlers,
    ...ssoHandlers,
    ...auditHandlers,
    ...auditExportHandlers,
    ...organisationAuditHandlers,
    ...organisationGroupHandlers,
    ...organisationSsoHandlers,
    ...organisationQuotaHandlers,
    ...organisationUsageHandlers,
    ...scimHandlers,
    ...authHandlers,
    ...passwordHandlers,
    ...accountHandlers,
    ...oidcBrowserHandlers,
    ...jwksHandlers,
    ...metricsHandlers,
    ...automationHandlers,
    ...sensorHandlers,
    ...runEventHandlers(scope.runEvents),
    ...waitHandlers,
    ...notificationHandlers,
    ...alertRuleHandlers,
    ...ledgerHandlers(scope.ledgerEvents),
    ...eventWebhookHandlers,
    ...quotaHandlers,
    ...apiDocsHandlers(),
  };
}
