import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as z from 'zod';

/** What `outpost dev` keeps between starts. The file is readable by its owner only. */
export const DevCredentials = z.object({
  workspaceId: z.string(),
  ownerKey: z.string(),
  workerKey: z.string(),
});
export type DevCredentials = z.infer<typeof DevCredentials>;

/** The stored credentials, or null when the file is missing or unreadable (then new keys are made). */
export async function readDevCredentials(path: string): Promise<DevCredentials | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = DevCredentials.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function writeDevCredentials(path: string, credentials: DevCredentials): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file; an older file keeps its mode otherwise.
  await chmod(path, 0o600);
}
