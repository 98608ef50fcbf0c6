import { button, html, layout, SafeHtml } from '../../email/templates/html.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.js';

/** The small pages the verification and reset links open (no scripts; see PAGE_HEADERS). */

/** `loginUrl` (the frontend's sign-in page, when FRONTEND_URL is set) adds a way back to the app. */
export function messagePage(title: string, message: string, loginUrl?: string): string {
  const signIn = loginUrl ? button(loginUrl, 'Sign in to Conduit') : new SafeHtml('');
  return layout(
    title,
    html`<h2 style="font-size:18px;margin:0 0 12px">${title}</h2><p>${message}</p>${signIn}`,
  );
}

export function resetPasswordFormPage(token: string): string {
  // Relative action: posts to /api/auth/reset-password wherever the API is mounted.
  return layout(
    'Choose a new password',
    html`<h2 style="font-size:18px;margin:0 0 12px">Choose a new password</h2>
<form method="post" action="reset-password">
<input type="hidden" name="token" value="${token}">
<label for="password" style="display:block;margin:0 0 6px">New password (${PASSWORD_MIN_LENGTH}–${PASSWORD_MAX_LENGTH} characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN_LENGTH}" maxlength="${PASSWORD_MAX_LENGTH}" style="width:100%;box-sizing:border-box;padding:8px;font-size:15px;margin:0 0 16px">
<button type="submit" style="background:#5cb85c;color:#fff;border:0;padding:10px 18px;border-radius:4px;font-size:15px;cursor:pointer">Set the new password</button>
</form>`,
  );
}
