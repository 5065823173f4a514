export type { NewApiKey } from './auth/create-api-key.js';
export { createApiKey } from './auth/create-api-key.js';
export type { SignInLink } from './auth/sessions.js';
export { createSignInLink } from './auth/sessions.js';
export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './db/embedded.js';
export { startEmbeddedPostgres } from './db/embedded.js';
export { main } from './main.js';
export type { RunningServer, ServerOptions } from './server.js';
export { startServer } from './server.js';
