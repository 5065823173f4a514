import { BaseSequencer } from 'vitest/node';

/** scripts/file-times.json, the seconds each test file took when last recorded. */
export const FILE_TIMES: string;
export const REPO_ROOT: string;
/** The recorded seconds of each test file, by its path from the repository's root. */
export function readFileTimes(): Record<string, number>;
/** A test file's key in the table: its path from the repository's root, with forward slashes. */
export function fileKey(moduleId: string): string;

/** Starts the longest test files first, by scripts/file-times.json and then vitest's record (scripts/file-times-sequencer.mjs). */
export default class FileTimesSequencer extends BaseSequencer {}
