import type { ReactNode } from 'react';
import { TextInput } from './form-field.js';

/** The most runs a backfill may keep in flight at once, as the API's request schemas bound it. */
export const MAX_CONCURRENT_LIMIT = 1000;

/** The typed limit of runs in flight, when it is a whole number from 1 to MAX_CONCURRENT_LIMIT; null otherwise. */
export function parseMaxConcurrent(text: string): number | null {
  const limit = Number(text);
  return Number.isInteger(limit) && limit >= 1 && limit <= MAX_CONCURRENT_LIMIT ? limit : null;
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
      <TextInput type="number" min={1} max={MAX_CONCURRENT_LIMIT} value={value} onChange={onChange} testId={testId} />
      {children}
    </label>
  );
}
