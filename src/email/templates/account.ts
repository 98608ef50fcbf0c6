import { button, html, layout } from './html.js';
import type { TemplateDefinition } from './types.js';

export interface VerifyEmailData {
  username: string;
  /** One-time verification token (a secret: sealed in the email log). */
  token: string;
}

export interface ResetPasswordData {
  username: string;
  /** One-time reset token (a secret: sealed in the email log). */
  token: string;
  expiresInMinutes: number;
}

/** Links point at pages this API serves itself (the API is the only web surface there is). */
export function verifyEmailUrl(appUrl: string, token: string): string {
  return `${appUrl}/api/auth/verify-email?token=${encodeURIComponent(token)}`;
}

export function resetPasswordUrl(appUrl: string, token: string): string {
  return `${appUrl}/api/auth/reset-password?token=${encodeURIComponent(token)}`;
}

export const verifyEmail: TemplateDefinition<VerifyEmailData> = {
  kind: null,
  secretFields: ['token'],
  render({ username, token }, { appUrl }) {
    const url = verifyEmailUrl(appUrl, token);
    const subject = 'Confirm your email address';
    return {
      subject,
      headers: {},
      text: [
        `Hi ${username},`,
        '',
        'Welcome to Conduit! Please confirm your email address by opening this link:',
        '',
        url,
        '',
        'If you did not sign up, ignore this email.',
      ].join('\n'),
      html: layout(
        subject,
        html`<p>Hi ${username},</p>
<p>Welcome to Conduit! Please confirm your email address.</p>
${button(url, 'Confirm my address')}
<p style="font-size:13px;color:#818a91">Or paste this link into your browser: ${url}</p>
<p style="font-size:13px;color:#818a91">If you did not sign up, ignore this email.</p>`,
      ),
    };
  },
};

export const resetPassword: TemplateDefinition<ResetPasswordData> = {
  kind: null,
  secretFields: ['token'],
  render({ username, token, expiresInMinutes }, { appUrl }) {
    const url = resetPasswordUrl(appUrl, token);
    const subject = 'Reset your Conduit password';
    return {
      subject,
      headers: {},
      text: [
        `Hi ${username},`,
        '',
        'Someone (hopefully you) asked to reset your Conduit password. Choose a new one here:',
        '',
        url,
        '',
        `The link works once and expires in ${expiresInMinutes} minutes.`,
        'If you did not ask for this, ignore this email: your password stays as it is.',
      ].join('\n'),
      html: layout(
        subject,
        html`<p>Hi ${username},</p>
<p>Someone (hopefully you) asked to reset your Conduit password.</p>
${button(url, 'Choose a new password')}
<p style="font-size:13px;color:#818a91">The link works once and expires in ${expiresInMinutes} minutes. Or paste it into your browser: ${url}</p>
<p style="font-size:13px;color:#818a91">If you did not ask for this, ignore this email: your password stays as it is.</p>`,
      ),
    };
  },
};
