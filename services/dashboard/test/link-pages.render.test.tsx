import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ApiFailure } from '../src/api/client.js';
import { newPasswordProblem, passwordRefusal } from '../src/components/new-password-fields.js';
import { ConfirmEmailPage } from '../src/pages/confirm-email.js';
import { ConfirmRecipientPage } from '../src/pages/confirm-recipient.js';
import { ResetPasswordPage } from '../src/pages/reset-password.js';
import { SetPasswordPage } from '../src/pages/set-password.js';
import { SignInPage } from '../src/pages/sign-in.js';

describe('the pages a link opens', () => {
  it('show the brand and their heading, and the form once the link carries a token', () => {
    const html = renderToStaticMarkup(<SetPasswordPage search={new URLSearchParams({ token: 'tok' })} />);
    expect(html).toContain('<div class="brand brand-large"><span class="brand-mark" aria-hidden="true"></span>Outpost</div>');
    expect(html).toContain('<h1>Set your password</h1>');
    expect(html).toContain('data-testid="set-password-password"');
    expect(html).toContain('data-testid="set-password-submit"');
  });

  it('say which link they need when opened without one', () => {
    const html = renderToStaticMarkup(<ConfirmRecipientPage search={new URLSearchParams()} />);
    expect(html).toContain('<h1>Confirm notifications</h1>');
    expect(html).toContain('This page needs the link Outpost emailed you.');
    expect(html).not.toContain('confirm-recipient-submit');
  });

  it('let an address be confirmed keeping the password, until the API asks for one', () => {
    const html = renderToStaticMarkup(<ConfirmEmailPage search={new URLSearchParams({ token: 'tok' })} />);
    expect(html).toContain('Choose a new password, or leave both fields empty to keep the one you have.');
    expect(html).toMatch(/<form class="form" data-testid="confirm-email"><p class="muted">Choose a new password/);
    expect(html).toMatch(/data-testid="confirm-email-submit">Confirm<\/button><\/form>/);
  });
});

describe('the fields of the sign-in and reset pages', () => {
  it('ask for the account by its address, filled in from the link', () => {
    const html = renderToStaticMarkup(<ResetPasswordPage search={new URLSearchParams({ email: 'ada@acme.example' })} />);
    expect(html).toMatch(
      /<input type="email" autoComplete="username"[^>]*data-testid="reset-password-email" value="ada@acme.example"\/>/,
    );
  });

  it('ask for the workspace in the password form and in the single sign-on form alike', () => {
    const html = renderToStaticMarkup(<SignInPage search={new URLSearchParams({ workspace: 'acme-data' })} />);
    expect(html).toContain('data-testid="sign-in-email"');
    expect(html).toMatch(/placeholder="acme-data"[^>]*data-testid="sign-in-sso-workspace" value="acme-data"/);
  });
});

describe('a new password typed twice', () => {
  it('is refused empty where one is required, and allowed empty where the account keeps its own', () => {
    expect(newPasswordProblem('', '')).toBe('Choose a password.');
    expect(newPasswordProblem('', '', false)).toBeNull();
  });

  it('is refused when the two fields differ', () => {
    expect(newPasswordProblem('correct horse', 'correct hose')).toBe('The two passwords differ.');
    expect(newPasswordProblem('correct horse', 'correct horse')).toBeNull();
  });

  it("names the API's reason when the API refused the password itself, and nothing for other failures", () => {
    const refused: ApiFailure = {
      kind: 'http_error',
      status: 422,
      problem: { type: 'about:blank', title: 'Invalid', status: 422, errors: [{ path: 'body.password', message: 'too short' }] },
    } as ApiFailure;
    expect(passwordRefusal(refused)).toBe('too short');
    expect(passwordRefusal({ kind: 'http_error', status: 401 } as ApiFailure)).toBeUndefined();
  });
});
