import { fileURLToPath } from 'node:url';

/** Absolute path of the built dashboard (index.html and hashed assets), served by the API at `/`. */
export const dashboardDir = fileURLToPath(new URL('./dist/', import.meta.url));
