import { formatCsv, parseCsv } from './csv.js';
import { DatasetError } from './dataset.js';

/*
 * The shipped customers CSV is one export of the whole book. The example reads it as a daily feed:
 * each customer's contract comes up for renewal on one day of a seven-day cycle, and a day's
 * snapshot holds the customers whose renewal was decided that day. Any seven consecutive days
 * therefore hold every customer exactly once, and the same date always gives the same bytes.
 */

/** Days in the renewal cycle: the training window spans one. */
export const CYCLE_DAYS = 7;

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. */
export function epochDay(date: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new RangeError(`expected a date YYYY-MM-DD, got "${date}"`);
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new RangeError(`not a date: "${date}"`);
  return Math.round(ms / DAY_MS);
}

/** The date `days` after (or before, when negative) a `YYYY-MM-DD` date. */
export function addDays(date: string, days: number): string {
  return new Date((epochDay(date) + days) * DAY_MS).toISOString().slice(0, 10);
}

/** Which day of the cycle a customer renews on: the digits of the id, modulo the cycle (0 when there are none). */
export function renewalSlot(customerId: string): number {
  const digits = customerId.replace(/\D/g, '');
  return digits === '' ? 0 : Number(BigInt(digits) % BigInt(CYCLE_DAYS));
}

/** Which day of the cycle a date is. */
export function dateSlot(date: string): number {
  return ((epochDay(date) % CYCLE_DAYS) + CYCLE_DAYS) % CYCLE_DAYS;
}

/**
 * The snapshot of `date`: the header and every row (valid or not — validation comes later) whose
 * customer renews on that day of the cycle, as CSV text.
 */
export function dailySnapshot(csv: string, date: string): { csv: string; rows: number } {
  let rows: ReturnType<typeof parseCsv>;
  try {
    rows = parseCsv(csv);
  } catch (error) {
    throw new DatasetError(`the export cannot be parsed: ${(error as Error).message}`, { cause: error });
  }
  const [header, ...body] = rows;
  if (!header) throw new DatasetError('the export is empty');
  const slot = dateSlot(date);
  const picked = body.filter((row) => renewalSlot(row.cells[0] ?? '') === slot).map((row) => row.cells);
  return { csv: formatCsv([header.cells, ...picked]), rows: picked.length };
}
