import type { Principal } from '../auth/principal.js';
import type { Logger } from '../logger.js';

/** Hono context variables set by the request middleware. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    principal: Principal;
  };
}
