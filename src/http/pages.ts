import { Type } from 'typebox';

/** The response schema of a server-rendered page (`produces: ['text/html']`). */
export const HtmlPage = Type.String({ description: 'A small HTML page for people' });

/**
 * Sent with every page a link in an email opens (and the pages of src/modules/pages): no scripts,
 * no third parties, and a token in the URL never leaks in a Referer.
 */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;
