import { html, layout, link } from '../../email/templates/html.js';
import { notificationKindLabel } from '../../email/templates/notifications.js';
import type { NotificationKind } from '../../email/unsubscribe.js';

/**
 * The two small pages people see when they open an unsubscribe link. GET never changes anything
 * (link scanners and prefetchers open links too); the button POSTs, like RFC 8058 clients do.
 */
export function unsubscribeConfirmPage(kind: NotificationKind, token: string, settingsUrl: string): string {
  const label = notificationKindLabel(kind);
  const action = `?token=${encodeURIComponent(token)}`;
  return layout(
    'Unsubscribe',
    html`<p>Stop receiving <strong>${label}</strong> emails from Conduit?</p>
<form method="post" action="${action}">
<button type="submit" style="background:#5cb85c;color:#fff;border:0;padding:10px 18px;border-radius:4px;font-size:15px;cursor:pointer">Unsubscribe</button>
</form>
<p style="font-size:13px;color:#818a91">You can switch it back on at any time in your ${link(settingsUrl, 'notification settings')}.</p>`,
  );
}

export function unsubscribedPage(kind: NotificationKind, settingsUrl: string): string {
  return layout(
    'Unsubscribed',
    html`<p>Done: you will no longer receive <strong>${notificationKindLabel(kind)}</strong> emails.</p>
<p style="font-size:13px;color:#818a91">You can switch them back on at any time in your ${link(settingsUrl, 'notification settings')}.</p>`,
  );
}
