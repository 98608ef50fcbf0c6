import { type ResetPasswordData, resetPassword, type VerifyEmailData, verifyEmail } from './account.js';
import {
  type NewArticleData,
  type NewCommentData,
  type NewFollowerData,
  newArticle,
  newComment,
  newFollower,
  type WeeklyDigestData,
  weeklyDigest,
} from './notifications.js';
import type { RenderContext, RenderedEmail, TemplateDefinition } from './types.js';

export type { RenderContext, RenderedEmail, TemplateDefinition } from './types.js';

/** Template name → the data it renders. The names are what the email log's `template` column holds. */
export interface TemplateDataMap {
  'verify-email': VerifyEmailData;
  'reset-password': ResetPasswordData;
  'new-follower': NewFollowerData;
  'new-comment': NewCommentData;
  'new-article': NewArticleData;
  'weekly-digest': WeeklyDigestData;
}

export type EmailTemplateName = keyof TemplateDataMap;

export const TEMPLATES: { readonly [K in EmailTemplateName]: TemplateDefinition<TemplateDataMap[K]> } = {
  'verify-email': verifyEmail,
  'reset-password': resetPassword,
  'new-follower': newFollower,
  'new-comment': newComment,
  'new-article': newArticle,
  'weekly-digest': weeklyDigest,
};

export const TEMPLATE_NAMES = Object.keys(TEMPLATES) as EmailTemplateName[];

export function isTemplateName(value: string): value is EmailTemplateName {
  return Object.hasOwn(TEMPLATES, value);
}

/** Pure: the same data and context always give the same email. */
export function renderEmail<K extends EmailTemplateName>(
  name: K,
  data: TemplateDataMap[K],
  context: RenderContext,
): RenderedEmail {
  const template: TemplateDefinition<TemplateDataMap[K]> = TEMPLATES[name];
  return template.render(data, context);
}
