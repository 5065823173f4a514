import type { ReactNode } from 'react';
import { TextField } from './form-field.js';

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

/** The address of a person's account, as the sign-in page and the password reset ask for it. */
export function AccountEmailField({
  value,
  onChange,
  testId,
}: {
  value: string;
  onChange: (value: string) => void;
  testId: string;
}) {
  return (
    <TextField
      label="Email"
      type="email"
      autoComplete="username"
      spellCheck={false}
      value={value}
      maxLength={320}
      onChange={onChange}
      testId={testId}
    />
  );
}
