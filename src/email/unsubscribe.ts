import { deriveKey, sign, signatureMatches } from './crypto.js';

/** The notification kinds a user can switch off, one switch each. */
export const NOTIFICATION_KINDS = ['new_follower', 'new_comment', 'new_article', 'weekly_digest'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export function isNotificationKind(value: string): value is NotificationKind {
  return (NOTIFICATION_KINDS as readonly string[]).includes(value);
}

/** Maximum length of a token we bother to parse (a real one is about 60 characters). */
export const UNSUBSCRIBE_TOKEN_MAX_LENGTH = 200;

export interface UnsubscribeTarget {
  userId: number;
  kind: NotificationKind;
}

/**
 * Signed, login-free unsubscribe tokens: `<userId>.<kind>.<hmac>`. They carry no expiry on
 * purpose: an unsubscribe link in a year-old email must still work (RFC 8058 §3.1 asks for
 * links that keep working). Rotating JWT_SECRET invalidates them all.
 */
export interface UnsubscribeTokens {
  create(target: UnsubscribeTarget): string;
  /** The target of a genuine token; null for anything malformed or forged. */
  verify(token: string): UnsubscribeTarget | null;
}

export function createUnsubscribeTokens(secret: string): UnsubscribeTokens {
  const key = deriveKey(secret, 'email-unsubscribe');
  const message = ({ userId, kind }: UnsubscribeTarget) => `unsubscribe:${userId}:${kind}`;
  return {
    create: (target) => `${target.userId}.${target.kind}.${sign(key, message(target))}`,
    verify: (token) => {
      if (token.length > UNSUBSCRIBE_TOKEN_MAX_LENGTH) return null;
      const match = /^([1-9]\d{0,9})\.([a-z_]{1,32})\.([A-Za-z0-9_-]{43})$/.exec(token);
      if (!match?.[1] || !match[2] || !match[3]) return null;
      const userId = Number(match[1]);
      const kind = match[2];
      if (!Number.isSafeInteger(userId) || !isNotificationKind(kind)) return null;
      const target = { userId, kind };
      return signatureMatches(key, message(target), match[3]) ? target : null;
    },
  };
}

/** The URL a notification email links to; `GET` shows a page, `POST` unsubscribes in one click. */
export function unsubscribeUrl(appUrl: string, token: string): string {
  return `${appUrl}/api/notifications/unsubscribe?token=${encodeURIComponent(token)}`;
}
