import { BaseSequencer } from 'vitest/node';

/** Starts the longest test files first, by vitest's cache or scripts/file-times.json (scripts/file-times-sequencer.mjs). */
export default class FileTimesSequencer extends BaseSequencer {}
