import { ApiError } from '../errors.js';

/** What a create by a client-chosen id stored or found under that id, and whether this request made it. */
export interface StoredById<R extends { workspaceId: string; flowRunId: string }> {
  row: R;
  created: boolean;
}

/**
 * The row a create by a client-chosen id (`what`: "artifact", "task run") stored in the run, or
 * stored before by a repeat of the request, which answers 200. The same id under another run (or
 * workspace) is refused alike, so it reveals nothing about the other.
 */
export function createdInRun<R extends { workspaceId: string; flowRunId: string }>(
  result: StoredById<R> | null,
  where: { workspaceId: string; flowRunId: string },
  what: string,
  status: (code: 200) => void,
): R {
  if (!result || result.row.workspaceId !== where.workspaceId || result.row.flowRunId !== where.flowRunId) {
    throw new ApiError('conflict', `this ${what} id is already in use`);
  }
  if (!result.created) status(200);
  return result.row;
}
