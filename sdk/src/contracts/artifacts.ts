import * as z from 'zod';
import { Id, PageLimit, Timestamp } from './common.js';

/**
 * Artifacts are small, human-facing outputs of a run (a report, a metrics table, a link to a model,
 * a progress bar). They are written by the run's worker with the run token, after redaction; the
 * dashboard renders them as text, never as HTML.
 */

/** Largest `data` of one artifact, as UTF-8 JSON. */
export const ARTIFACT_MAX_DATA_BYTES = 256 * 1024;

export const ArtifactKey = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lowercase letters, digits, "-" or "_", starting with a letter or digit');
export type ArtifactKey = z.infer<typeof ArtifactKey>;

export const ArtifactType = z.enum(['markdown', 'table', 'link', 'progress']);
export type ArtifactType = z.infer<typeof ArtifactType>;

const Cell = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** What `data` holds for each artifact type. */
export const ArtifactDataByType = {
  markdown: z.strictObject({ markdown: z.string() }),
  /** Rows line up with `columns`; a missing value is null. */
  table: z.strictObject({ columns: z.array(z.string().max(200)).max(500), rows: z.array(z.array(Cell)) }),
  /** http(s) only: a link is something a person clicks in the dashboard. */
  link: z.strictObject({ url: z.url({ protocol: /^https?$/ }).max(2000), text: z.string().max(1000).nullable() }),
  /** A fraction from 0 to 1; a progress artifact is updated in place. */
  progress: z.strictObject({ progress: z.number().min(0).max(1) }),
} as const satisfies Record<ArtifactType, z.ZodType>;

/** The fields of an artifact a writer sends; validated together by `checkArtifactData`. */
export const ArtifactFields = z.strictObject({
  /** Client-generated, so a retried create stores nothing twice. */
  id: Id,
  flowRunAttempt: z.number().int().min(1),
  key: ArtifactKey,
  type: ArtifactType,
  description: z.string().max(2000).optional(),
  /** The task run that produced it, if any. */
  taskRunId: Id.optional(),
  /** An object whose shape depends on `type` (see ArtifactDataByType). */
  data: z.record(z.string(), z.json()),
});

/** `data` must match its `type` and stay within ARTIFACT_MAX_DATA_BYTES. */
export function checkArtifactData(value: { type: ArtifactType; data: unknown }, ctx: z.RefinementCtx): void {
  const parsed = ArtifactDataByType[value.type].safeParse(value.data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: ['data', ...issue.path] });
    }
    return;
  }
  // TextEncoder rather than Buffer: the dashboard validates with these contracts in the browser.
  const bytes = new TextEncoder().encode(JSON.stringify(value.data)).length;
  if (bytes > ARTIFACT_MAX_DATA_BYTES) {
    ctx.addIssue({
      code: 'custom',
      message: `must be at most ${ARTIFACT_MAX_DATA_BYTES} bytes as JSON (is ${bytes})`,
      path: ['data'],
    });
  }
}

/** Create an artifact of a run; a progress artifact replaces the run's earlier one of the same key. */
export const ArtifactCreateRequest = ArtifactFields.superRefine(checkArtifactData);
export type ArtifactCreateRequest = z.infer<typeof ArtifactCreateRequest>;

export const Artifact = z.strictObject({
  id: Id,
  key: ArtifactKey,
  type: ArtifactType,
  description: z.string().nullable(),
  data: z.json(),
  flowRunId: Id,
  taskRunId: Id.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Artifact = z.infer<typeof Artifact>;

export const ArtifactResponse = z.strictObject({ artifact: Artifact });
export type ArtifactResponse = z.infer<typeof ArtifactResponse>;

export const ArtifactListResponse = z.strictObject({ items: z.array(Artifact) });
export type ArtifactListResponse = z.infer<typeof ArtifactListResponse>;

export const ArtifactLatestQuery = z.strictObject({
  /** Only this key; without it, the latest artifact of every key, most recently updated first. */
  key: ArtifactKey.optional(),
  limit: PageLimit,
});
export type ArtifactLatestQuery = z.input<typeof ArtifactLatestQuery>;
