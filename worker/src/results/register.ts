import { registerResultStorage } from '@outpost/sdk/runtime';
import { s3ResultStorageFromUrl } from './s3.js';

/*
 * Loaded into every flow process with `node --import` when the worker keeps results in S3: it adds
 * the `s3:` scheme to the SDK runtime's result stores, which live on globalThis, so the runner's copy
 * of the SDK and the copy inside the bundle both find it.
 */
registerResultStorage('s3', (url: URL) => s3ResultStorageFromUrl(url));
