import type { ReactNode } from 'react';

/** One fact of a detail page's header list: its label and value; `wide` takes a whole row. */
export function Fact({ label, children, testId, wide }: { label: string; children: ReactNode; testId?: string; wide?: boolean }) {
  return (
    <div className={`fact${wide ? ' fact-wide' : ''}`}>
      <dt>{label}</dt>
      <dd data-testid={testId}>{children}</dd>
    </div>
  );
}
