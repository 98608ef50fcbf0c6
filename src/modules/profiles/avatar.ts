import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';

/**
 * The default avatar. Stock RealWorld frontends put `image` straight into an <img>, so `null`
 * renders as a broken picture; most RealWorld backends answer a default image URL instead. This
 * one is served by the API itself, so it works offline and behind any firewall.
 */
export const DEFAULT_AVATAR_PATH = '/avatars/default.svg';

export function defaultAvatarUrl(appUrl: string): string {
  return `${appUrl}${DEFAULT_AVATAR_PATH}`;
}

/**
 * A client that sends the default URL back (a settings form saves every field it showed) clears
 * the image instead of storing a copy of the URL, so the user keeps following APP_URL.
 */
export function imageToStore<T extends { image?: string | null }>(changes: T, defaultImage: string): T {
  return changes.image === defaultImage ? { ...changes, image: null } : changes;
}

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">
<rect width="128" height="128" fill="#e6e9ec"/>
<circle cx="64" cy="50" r="24" fill="#aab2bb"/>
<path d="M20 116c4-26 22-40 44-40s40 14 44 40z" fill="#aab2bb"/>
</svg>
`;

const HEADERS = {
  'content-type': 'image/svg+xml',
  // Changes only with a release; a month in every cache keeps frontends from asking again.
  'cache-control': 'public, max-age=2592000',
  // Opened on its own, an SVG is a document: nothing in it may run or load.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  'x-content-type-options': 'nosniff',
} as const;

export async function avatarRoutes(app: FastifyInstance) {
  app.get(
    DEFAULT_AVATAR_PATH,
    {
      schema: {
        tags: ['Profiles'],
        summary: 'The default avatar (what `image` points at until a user sets one)',
        produces: ['image/svg+xml'],
        response: { 200: Type.String({ description: 'An SVG image' }) },
      },
    },
    (_request, reply) => reply.headers(HEADERS).send(SVG),
  );
}
