import type { ReactNode } from 'react';
import { href } from '../router.js';

/** A detail page's way back: its list (`to`, called `label`), then the page itself. */
export function Breadcrumbs({
  to,
  label,
  children,
  testId,
}: {
  to: string;
  label: string;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <nav className="breadcrumbs" aria-label="Breadcrumbs" data-testid={testId}>
      <a href={href(to)}>{label}</a> <span aria-hidden="true">/</span> <span>{children}</span>
    </nav>
  );
}
