import type { Principal } from '../auth/principal.js';
import type { Logger } from '../logger.js';
import type { AuditNote } from './audit.js';

/** Hono context variables set by the request middleware. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    principal: Principal;
    /** Audit entries to write once the request is answered (see http/audit.ts). */
    auditNotes: AuditNote[];
  };
}
