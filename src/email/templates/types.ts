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
