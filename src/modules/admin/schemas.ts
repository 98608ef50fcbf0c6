import { Type } from 'typebox';
import { EMAIL_STATUSES } from '../../email/log.js';
import { TEMPLATE_NAMES } from '../../email/templates/index.js';
import { Nullable } from '../../typebox.js';

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
