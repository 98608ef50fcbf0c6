import { randomBytes } from 'node:crypto';

/** Longest slug base, in characters; a collision suffix adds 7 more. */
export const SLUG_BASE_MAX_LENGTH = 100;
/**
 * Longest slug base once percent-encoded, as it travels in URLs (a CJK character is 9): the router
 * refuses path parameters over 500 characters, so a slug must stay well below that.
 */
export const SLUG_BASE_MAX_ENCODED_LENGTH = 300;

/**
 * The slug rule (documented in docs/QUERIES.md and docs/API.md):
 * NFKD-normalise the title, drop combining marks (so "Crème brûlée" → "creme-brulee"), lower-case,
 * keep every Unicode letter or digit (so "Привет мир" → "привет-мир", "日本語" stays), turn every
 * other run of characters into one hyphen, trim hyphens, cut to 100 characters and 300 once
 * percent-encoded. A title with no letter or digit at all yields "article".
 */
export function slugify(title: string): string {
  const words = title
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  // Cut on code points (never inside a surrogate pair) and never end on a hyphen.
  let base = '';
  let encodedLength = 0;
  for (const char of Array.from(words).slice(0, SLUG_BASE_MAX_LENGTH)) {
    encodedLength += encodeURIComponent(char).length;
    if (encodedLength > SLUG_BASE_MAX_ENCODED_LENGTH) break;
    base += char;
  }
  return base.replace(/-+$/, '') || 'article';
}

/**
 * A unique variant of a taken slug: a random suffix rather than "-2", "-3"… so two concurrent
 * creates never race for the same next number and slugs do not reveal how many twins exist.
 */
export function suffixedSlug(base: string): string {
  const suffix = randomBytes(4).readUInt32BE(0).toString(36).padStart(6, '0').slice(-6);
  return `${base}-${suffix}`;
}

/** Slugs that would be shadowed by a static route (`GET /api/articles/feed`) are never used plain. */
const RESERVED_SLUGS = new Set(['feed']);

/** The slug to try on attempt `attempt` (0 = the plain base, when it is not reserved). */
export function slugCandidate(base: string, attempt: number): string {
  return attempt === 0 && !RESERVED_SLUGS.has(base) ? base : suffixedSlug(base);
}
