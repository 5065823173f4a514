export { type BuildBundleOptions, buildBundle } from './build.js';
export { holdCacheEntry } from './cache.js';
export { type RegistryCredentials, resolveRegistryCredentials } from './credentials.js';
export { BundleError, type BundleErrorCode } from './errors.js';
export { type ResolveGitRefOptions, resolveGitRef } from './git-resolve.js';
export { checkGitUrl, displayGitUrl, type GitSource, isGitSource, parseGitSource } from './git-source.js';
export {
  ARTIFACT_TYPE,
  CONFIG_MEDIA_TYPE,
  FILE_MEDIA_TYPE,
  MANIFEST_MEDIA_TYPE,
} from './manifest.js';
export {
  type PullBundleOptions,
  pullBundle,
  resolveBundleEntrypoint,
  type VerifySourceOptions,
  verifySource,
} from './pull.js';
export { type PushBundleOptions, pushBundle } from './push.js';
export { type ParsedSource, parseSource } from './source.js';
export type { BuiltBundle, BundleFile, PushProgress, PushResult } from './types.js';
