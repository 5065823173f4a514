import type { ReactNode } from 'react';
import { href } from '../router.js';

export function NavLink({
  to,
  current,
  children,
  testId,
}: {
  to: string;
  current: boolean;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <a
      href={href(to)}
      className={`nav-link${current ? ' nav-link-current' : ''}`}
      aria-current={current ? 'page' : undefined}
      data-testid={testId}
    >
      {children}
    </a>
  );
}
