import type { PartitionsDefinition, SinglePartitions, TimeWindowPartitions } from '@outpost/sdk/contracts';
import { pluralise } from './format.js';

const CADENCE: Record<TimeWindowPartitions['cadence'], string> = {
  hourly: 'Hourly',
  daily: 'Daily',
  weekly: 'Weekly',
  monthly: 'Monthly',
};
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const LISTED_KEYS = 5;

function describeTime(d: TimeWindowPartitions): string {
  const parts = [`${CADENCE[d.cadence]} from ${d.start.replace('T', ' ')}`];
  parts.push(d.end ? `to ${d.end.replace('T', ' ')}` : 'onwards');
  let text = `${parts.join(' ')} (${d.timezone ?? 'UTC'})`;
  if (d.cadence === 'weekly') text += `, weeks start on ${WEEKDAYS[(d.weekStartsOn ?? 1) - 1]}`;
  if (d.endOffsetMinutes) text += `, each ${formatMinutes(d.endOffsetMinutes)} after its window closes`;
  return text;
}

function formatMinutes(m: number): string {
  if (m % 1440 === 0) return `${m / 1440} day${m === 1440 ? '' : 's'}`;
  if (m % 60 === 0) return `${m / 60} hour${m === 60 ? '' : 's'}`;
  return pluralise(m, 'minute');
}

function describeSingle(d: SinglePartitions): string {
  switch (d.kind) {
    case 'time':
      return describeTime(d);
    case 'static': {
      const listed = d.keys.slice(0, LISTED_KEYS).join(', ');
      const more = d.keys.length > LISTED_KEYS ? ` and ${(d.keys.length - LISTED_KEYS).toLocaleString()} more` : '';
      return `${pluralise(d.keys.length, 'fixed key')}: ${listed}${more}`;
    }
    case 'dynamic':
      return `Dynamic set “${d.name}” (keys added through the API or from a flow)`;
  }
}

/** A partitions definition in words, for the asset page: "Daily from 2026-01-01 onwards (Europe/Berlin)". */
export function describePartitions(d: PartitionsDefinition | null): string {
  if (!d) return 'Not partitioned';
  if (d.kind !== 'multi') return describeSingle(d);
  const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
  return `Two dimensions: ${d.dimensions.map((dim) => `${dim.name} — ${lower(describeSingle(dim.partitions))}`).join('; ')}`;
}
