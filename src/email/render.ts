import type { FrontendRoutes } from './links.js';
import {
  type EmailTemplateName,
  type RenderedEmail,
  renderEmail,
  TEMPLATES,
  type TemplateDataMap,
} from './templates/index.js';
import { createUnsubscribeTokens, unsubscribeUrl } from './unsubscribe.js';

/** What rendering needs from the configuration. */
export interface EmailKeys {
  /** Signs unsubscribe links and seals tokens (through derived keys). */
  jwtSecret: string;
  /** APP_URL, without a trailing slash. */
  appUrl: string;
  /** FRONTEND_URL and its routes; absent → links open the API's own pages. */
  frontend?: FrontendRoutes | undefined;
}

/**
 * Renders a template for one recipient: notification templates get the recipient's signed
 * unsubscribe link, which is why they need an account (`userId`).
 */
export function renderFor<K extends EmailTemplateName>(
  keys: EmailKeys,
  template: K,
  data: TemplateDataMap[K],
  userId: number | null,
): RenderedEmail {
  const kind = TEMPLATES[template].kind;
  if (kind && userId === null) throw new Error(`the ${template} email goes to accounts only (no userId)`);
  const unsubscribe =
    kind && userId !== null
      ? unsubscribeUrl(keys.appUrl, createUnsubscribeTokens(keys.jwtSecret).create({ userId, kind }))
      : undefined;
  return renderEmail(template, data, {
    appUrl: keys.appUrl,
    frontend: keys.frontend,
    unsubscribeUrl: unsubscribe,
  });
}
