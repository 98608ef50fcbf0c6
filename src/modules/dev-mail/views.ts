import { html, SafeHtml } from '../../email/templates/html.js';
import type { MailMessage, MailSummary } from './service.js';

/**
 * The development inbox's pages (the role Mailpit or MailHog play elsewhere). The email's own HTML
 * is shown in a sandboxed iframe (no scripts, no same-origin) whose links open in a new tab.
 */

const style = `body{margin:0;padding:24px;font-family:Helvetica,Arial,sans-serif;color:#373a3c;background:#f3f3f3}
main{max-width:960px;margin:0 auto;background:#fff;border-radius:6px;padding:24px 32px}
h1{font-size:22px;color:#5cb85c;margin:0 0 16px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{text-align:left;padding:6px 8px;border-bottom:1px solid #eee;vertical-align:top}
a{color:#5cb85c}pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;padding:12px;font-size:13px}
iframe{width:100%;height:520px;border:1px solid #ddd}.muted{color:#818a91;font-size:13px}`;

function page(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title><style>${new SafeHtml(style)}</style></head>
<body><main>
<h1><a href="/dev/mail" style="text-decoration:none">conduit mail</a></h1>
${body}
</main></body>
</html>
`.value;
}

export function inboxPage(mails: readonly MailSummary[], directory: string): string {
  const rows = mails.map(
    (m) =>
      html`<tr><td class="muted">${m.date ?? ''}</td><td>${m.to}</td><td><a href="/dev/mail/${m.id}">${m.subject}</a></td><td class="muted">${m.template ?? ''}</td></tr>`,
  );
  const list =
    rows.length > 0
      ? html`<table><thead><tr><th>date</th><th>to</th><th>subject</th><th>template</th></tr></thead><tbody>${rows}</tbody></table>`
      : html`<p>No emails yet. Register a user (<code>POST /api/users</code>) and its verification email shows up here.</p>`;
  return page(
    'Mail',
    html`<p class="muted">The emails this instance wrote to <code>${directory}</code> (no SMTP_URL), newest first. Development only: this page does not exist in production.</p>
${list}`,
  );
}

/** Links in the email's HTML open outside the iframe (the API's pages refuse to be framed). */
function framed(emailHtml: string): string {
  const base = '<base target="_blank">';
  return /<head[^>]*>/i.test(emailHtml)
    ? emailHtml.replace(/<head[^>]*>/i, (head) => head + base)
    : base + emailHtml;
}

export function messagePage(mail: MailMessage): string {
  const links = mail.links.map(
    (url) => html`<li><a href="${url}" target="_blank" rel="noreferrer">${url}</a></li>`,
  );
  const headers = mail.headers.map(([name, value]) => html`<tr><th>${name}</th><td>${value}</td></tr>`);
  return page(
    mail.subject,
    html`<table>
<tr><th>subject</th><td>${mail.subject}</td></tr>
<tr><th>to</th><td>${mail.to}</td></tr>
<tr><th>date</th><td>${mail.date ?? ''}</td></tr>
<tr><th>template</th><td>${mail.template ?? ''}</td></tr>
</table>
<h2>Links</h2>
${links.length > 0 ? html`<ul>${links}</ul>` : html`<p class="muted">none</p>`}
<h2>HTML</h2>
${
  mail.html === null
    ? html`<p class="muted">This email has no HTML part.</p>`
    : html`<iframe title="the email's HTML" sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="${framed(mail.html)}"></iframe>`
}
<h2>Plain text</h2>
<pre>${mail.text}</pre>
<h2>Headers</h2>
<table>${headers}</table>
<p class="muted"><a href="/dev/mail/${mail.id}/raw">raw .eml</a></p>`,
  );
}
