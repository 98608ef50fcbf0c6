/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * Marks a string as already-safe HTML. Template parts are built with `html\`…\``, which escapes
 * every interpolated value unless it is SafeHtml, so forgetting to escape is impossible.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type HtmlValue = string | number | SafeHtml | readonly SafeHtml[];

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    if (value instanceof SafeHtml) out += value.value;
    else if (Array.isArray(value)) out += value.map((part: SafeHtml) => part.value).join('');
    else out += escapeHtml(String(value));
    out += strings[i + 1] ?? '';
  });
  return new SafeHtml(out);
}

/** A button-like link; only http(s) URLs are accepted, so a `javascript:` value can never slip in. */
export function button(href: string, label: string): SafeHtml {
  if (!/^https?:\/\//i.test(href)) throw new Error(`refusing a non-http link: ${href}`);
  return html`<p style="margin:24px 0"><a href="${href}" style="background:#5cb85c;color:#fff;padding:10px 18px;border-radius:4px;text-decoration:none;display:inline-block">${label}</a></p>`;
}

export function link(href: string, label: string): SafeHtml {
  if (!/^https?:\/\//i.test(href)) throw new Error(`refusing a non-http link: ${href}`);
  return html`<a href="${href}" style="color:#5cb85c">${label}</a>`;
}

/** The shared frame of every email: a small, inline-styled page (email clients ignore <style>). */
export function layout(title: string, body: SafeHtml, footer?: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head>
<body style="margin:0;padding:24px;background:#f3f3f3;font-family:Helvetica,Arial,sans-serif;color:#373a3c">
<div style="max-width:560px;margin:0 auto;background:#fff;border-radius:6px;padding:24px 32px">
<h1 style="font-size:22px;color:#5cb85c;margin:0 0 16px">conduit</h1>
${body}
</div>
${footer ? html`<p style="max-width:560px;margin:16px auto 0;font-size:12px;color:#818a91;text-align:center">${footer}</p>` : new SafeHtml('')}
</body>
</html>
`.value;
}
