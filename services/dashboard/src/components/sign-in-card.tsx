import type { ReactNode } from 'react';

/** The card of the pages a person uses before signing in: the brand, the page's heading, then `children`. */
export function SignInCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="sign-in">
      <div className="sign-in-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Outpost
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </div>
  );
}
