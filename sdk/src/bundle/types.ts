/** One file of a bundle. */
export interface BundleFile {
  /** Relative to the bundle root, posix separators, e.g. `flows/hello.mjs`. */
  path: string;
  bytes: Uint8Array;
  /** Unpacked with mode 0755: a shipped project file that was executable. @default false */
  executable?: boolean;
}

/** The output of `buildBundle`: files sorted by path, plus where each entrypoint ended up. */
export interface BuiltBundle {
  files: BundleFile[];
  /** Source entrypoint (relative to the project) → module inside the bundle: `flows/hello.ts` → `flows/hello.mjs`. */
  entrypoints: Record<string, string>;
}

/** Reported once per blob while pushing, then once for the manifest. */
export interface PushProgress {
  phase: 'blob' | 'manifest';
  /** The bundle file the blob holds; absent for the config blob and the manifest. */
  path?: string;
  bytes?: number;
  /** True when the registry or layout already had the blob. */
  skipped?: boolean;
}

export interface PushResult {
  /** `sha256:…` of the manifest. */
  digest: string;
  /** Digest-pinned reference: `oci://host/repo@sha256:…` or `oci-layout:///abs/dir@sha256:…`. */
  source: string;
}
