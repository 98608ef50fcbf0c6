import { Type } from 'typebox';
import { EMAIL_STATUSES } from '../../email/log.js';
import { TEMPLATE_NAMES } from '../../email/templates/index.js';
import { NOTIFICATION_KINDS, UNSUBSCRIBE_TOKEN_MAX_LENGTH } from '../../email/unsubscribe.js';
import { Nullable } from '../../typebox.js';

const preferenceSwitches = {
  newFollower: Type.Boolean({ description: 'Someone follows you' }),
  newComment: Type.Boolean({ description: 'Someone comments on one of your articles' }),
  newArticle: Type.Boolean({ description: 'Someone you follow publishes an article' }),
  weeklyDigest: Type.Boolean({ description: "The week's most favorited articles from people you follow" }),
};

export const PreferencesResponse = Type.Object({
  notifications: Type.Object(preferenceSwitches),
});

export const UpdatePreferencesBody = Type.Object(
  {
    notifications: Type.Object(
      {
        newFollower: Type.Optional(preferenceSwitches.newFollower),
        newComment: Type.Optional(preferenceSwitches.newComment),
        newArticle: Type.Optional(preferenceSwitches.newArticle),
        weeklyDigest: Type.Optional(preferenceSwitches.weeklyDigest),
      },
      { additionalProperties: false, description: 'Only the switches given change' },
    ),
  },
  { additionalProperties: false },
);

export const UnsubscribeQuery = Type.Object({
  token: Type.String({
    minLength: 1,
    maxLength: UNSUBSCRIBE_TOKEN_MAX_LENGTH,
    description: 'The signed token from the email link',
  }),
});

export const UnsubscribeResponse = Type.Object({
  unsubscribed: Type.Object({
    kind: Type.Enum(NOTIFICATION_KINDS),
    notifications: Type.Object(preferenceSwitches),
  }),
});

export const HtmlPage = Type.String({ description: 'A small HTML page for people' });

export const EmailLogQuery = Type.Object({
  to: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Recipient address' })),
  status: Type.Optional(Type.Enum(EMAIL_STATUSES)),
  template: Type.Optional(Type.Enum(TEMPLATE_NAMES)),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});

export const EmailLogEntry = Type.Object({
  id: Type.Integer(),
  to: Type.String(),
  userId: Nullable(Type.Integer()),
  template: Type.String(),
  subject: Type.String(),
  status: Type.Enum(EMAIL_STATUSES),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  providerMessageId: Nullable(Type.String()),
  dedupeKey: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  sentAt: Nullable(Type.String({ format: 'date-time' })),
});

export const EmailLogResponse = Type.Object({
  emails: Type.Array(EmailLogEntry),
  emailsCount: Type.Integer({ description: 'Emails matching the filters, across all pages' }),
});
