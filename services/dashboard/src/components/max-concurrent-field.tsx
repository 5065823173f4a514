import { MAX_BACKFILL_IN_FLIGHT } from '@outpost/sdk/contracts';
import type { ReactNode } from 'react';
import { TextInput } from './form-field.js';

/** The typed limit of runs in flight, when it is a whole number from 1 to MAX_BACKFILL_IN_FLIGHT; null otherwise. */
export function parseMaxConcurrent(text: string): number | null {
  const limit = Number(text);
  return Number.isInteger(limit) && limit >= 1 && limit <= MAX_BACKFILL_IN_FLIGHT ? limit : null;
}

/** The labelled number input of a backfill's limit on runs in flight at once; `children` (its help or error) follow it. */
export function MaxConcurrentField({
  label,
  value,
  onChange,
  testId,
  inline = false,
  children,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  testId: string;
  inline?: boolean;
  children?: ReactNode;
}) {
  return (
    <label className={inline ? 'field field-inline' : 'field'}>
      <span className="field-label">{label}</span>
      <TextInput type="number" min={1} max={MAX_BACKFILL_IN_FLIGHT} value={value} onChange={onChange} testId={testId} />
      {children}
    </label>
  );
}
