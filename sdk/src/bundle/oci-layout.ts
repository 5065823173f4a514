import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { digestHex } from './digest.js';
import { BundleError, isErrnoException } from './errors.js';
import { ARTIFACT_TYPE, type Descriptor, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE } from './manifest.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const LOCK_WAIT_MS = 30_000;
// Updating index.json takes milliseconds; a lock this old was left by a process that died holding it.
const LOCK_STALE_MS = 30_000;

interface IndexDescriptor extends Descriptor {
  artifactType?: string;
}

interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: IndexDescriptor[];
  [key: string]: unknown;
}

function temporaryName(): string {
  return `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * An OCI image-layout directory (`oci-layout`, `index.json`, `blobs/sha256/<hex>`). Every file
 * appears by rename, and index.json is rewritten under a lock file, so concurrent pushes from
 * several processes neither tear a file nor lose each other's entries.
 */
export class OciLayout {
  constructor(readonly root: string) {}

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
    const marker = join(this.root, 'oci-layout');
    if (!(await stat(marker).catch(() => null))) await this.writeAtomically(marker, '{"imageLayoutVersion":"1.0.0"}');
  }

  async hasBlob(digest: string, size: number): Promise<boolean> {
    const info = await stat(this.blobPath(digest)).catch(() => null);
    return info?.isFile() === true && info.size === size;
  }

  async writeBlob(digest: string, bytes: Uint8Array): Promise<void> {
    await this.writeAtomically(this.blobPath(digest), bytes);
  }

  /** Reads a blob, refusing one larger than `maxBytes` before reading it. */
  async readBlob(digest: string, maxBytes: number): Promise<Uint8Array> {
    const path = this.blobPath(digest);
    const info = await stat(path).catch((error: unknown) => {
      if (isErrnoException(error) && error.code === 'ENOENT') return null;
      throw new BundleError('unreachable', `cannot read ${path}: ${String(error)}`, { cause: error });
    });
    if (!info) {
      const layoutExists = await stat(join(this.root, 'oci-layout')).catch(() => null);
      if (!layoutExists) throw new BundleError('not_found', `${this.root} is not an OCI layout directory`);
      throw new BundleError('not_found', `blob ${digest} not found in ${this.root}`);
    }
    if (info.size > maxBytes) {
      throw new BundleError(
        'integrity',
        `blob ${digest} in ${this.root} is ${info.size} bytes, more than the ${maxBytes} expected`,
      );
    }
    return new Uint8Array(await readFile(path));
  }

  /** Records the manifest in index.json; the tag moves to it and earlier manifests stay listed untagged. */
  async addManifest(digest: string, size: number, tag: string): Promise<void> {
    await this.withIndexLock(async () => {
      const index = await this.readIndex();
      const kept: IndexDescriptor[] = [];
      for (const entry of index.manifests) {
        if (entry.annotations?.[REF_NAME_ANNOTATION] !== tag) {
          kept.push(entry);
          continue;
        }
        const { [REF_NAME_ANNOTATION]: _moved, ...rest } = entry.annotations;
        const untagged: IndexDescriptor = { ...entry };
        if (Object.keys(rest).length > 0) untagged.annotations = rest;
        else delete untagged.annotations;
        kept.push(untagged);
      }
      // An untagged entry is only worth keeping while nothing else lists its digest.
      const listed = (entry: IndexDescriptor) => entry.annotations?.[REF_NAME_ANNOTATION] !== undefined;
      const deduplicated = kept.filter(
        (entry, position) =>
          listed(entry) ||
          (entry.digest !== digest &&
            !kept.some((other, otherPosition) => other.digest === entry.digest && (listed(other) || otherPosition < position))),
      );
      deduplicated.push({
        mediaType: MANIFEST_MEDIA_TYPE,
        artifactType: ARTIFACT_TYPE,
        digest,
        size,
        annotations: { [REF_NAME_ANNOTATION]: tag },
      });
      index.manifests = deduplicated;
      await this.writeAtomically(join(this.root, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
    });
  }

  async readIndex(): Promise<ImageIndex> {
    const path = join(this.root, 'index.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isErrnoException(error) && error.code === 'ENOENT')
        return { schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [] };
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new BundleError('invalid', `${path} is not valid JSON`, { cause: error });
    }
    const index = parsed as Partial<ImageIndex> | null;
    if (!index || typeof index !== 'object' || !Array.isArray(index.manifests)) {
      throw new BundleError('invalid', `${path} is not an OCI image index`);
    }
    return index as ImageIndex;
  }

  private async writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
    const temporary = join(this.root, temporaryName());
    try {
      await writeFile(temporary, data);
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  private async withIndexLock<T>(action: () => Promise<T>): Promise<T> {
    const lockPath = join(this.root, 'index.json.lock');
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const handle = await open(lockPath, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if (!isErrnoException(error) || error.code !== 'EEXIST') throw error;
      }
      const info = await stat(lockPath).catch(() => null);
      if (info && Date.now() - info.mtimeMs > LOCK_STALE_MS) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new BundleError(
          'unreachable',
          `index.json in ${this.root} stayed locked; remove ${lockPath} if no push is running`,
        );
      }
      await delay(5 + Math.floor(Math.random() * 20));
    }
    try {
      return await action();
    } finally {
      await rm(lockPath, { force: true });
    }
  }
}
