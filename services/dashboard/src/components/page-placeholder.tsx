import type { ReactNode } from 'react';
import { href } from '../router.js';
import { Notice } from './notice.js';

/** A detail page whose thing is gone: `title`, then why (`children`) and the way back to its list. */
export function PageNotFound({
  title,
  to,
  backLabel,
  children,
}: {
  title: string;
  to: string;
  backLabel: string;
  children: ReactNode;
}) {
  return (
    <div className="page">
      <h1>{title}</h1>
      <p>
        {children} <a href={href(to)}>{backLabel}</a>
      </p>
    </div>
  );
}

/** A detail page before its thing has come: the error that stopped the read, or `children` (a "Loading…"). */
export function PageLoading({ error, children }: { error: string | null | undefined; children: ReactNode }) {
  return <div className="page">{error ? <Notice>{error}</Notice> : <p className="muted">{children}</p>}</div>;
}
