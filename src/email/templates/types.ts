import { createLinks, type FrontendRoutes, type Links } from '../links.js';
import type { NotificationKind } from '../unsubscribe.js';

/** What a template returns: everything needed to build the MIME message except the addresses. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
  /** Extra headers (List-Unsubscribe…). */
  headers: Record<string, string>;
}

/** What a template needs besides its data: where links point to. */
export interface RenderContext {
  /** Public base URL without a trailing slash (APP_URL). */
  appUrl: string;
  /** FRONTEND_URL and its routes: profile, article and settings links open the frontend. */
  frontend?: FrontendRoutes | undefined;
  /** Signed one-click unsubscribe URL; required by notification templates. */
  unsubscribeUrl?: string;
}

export interface TemplateDefinition<Data> {
  /** Set for notifications: the preference switch that silences it and the unsubscribe link. */
  readonly kind: NotificationKind | null;
  /** Fields that are secrets (one-time tokens): stored sealed, never in the log's payload. */
  readonly secretFields: readonly (keyof Data & string)[];
  render(data: Data, context: RenderContext): RenderedEmail;
}

/** Where this context's profile, article, comments and settings links lead. */
export function linksOf(context: RenderContext): Links {
  return createLinks(context.appUrl, context.frontend);
}
