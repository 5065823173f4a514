import type { ReactNode } from 'react';

export function Notice({
  kind = 'error',
  children,
  testId,
}: {
  kind?: 'error' | 'info' | 'success' | 'warning';
  children: ReactNode;
  testId?: string;
}) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {children}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}
