/**
 * Where the links of emails and pages lead. With FRONTEND_URL set, a profile, an article, the
 * settings and the login open the frontend's routes (patterns configurable); without it, the API's
 * own pages (`/profile/:username`, `/article/:slug`), never a raw JSON response.
 */

/** FRONTEND_URL and its route patterns, validated by src/config.ts. */
export interface FrontendRoutes {
  /** Base URL without a trailing slash; may end in `/#` for hash-routed frontends. */
  readonly url: string;
  /** Contains `:username` once. */
  readonly profilePath: string;
  /** Contains `:slug` once. */
  readonly articlePath: string;
  readonly settingsPath: string;
  readonly loginPath: string;
}

/** The common RealWorld frontend routes (the spec's reference frontends all use these). */
export const DEFAULT_FRONTEND_PATHS = {
  profilePath: '/profile/:username',
  articlePath: '/article/:slug',
  settingsPath: '/settings',
  loginPath: '/login',
} as const;

export interface Links {
  profile(username: string): string;
  article(slug: string): string;
  /** Where an article's comments are read. */
  comments(slug: string): string;
  /** Where a user switches notification emails on and off. */
  settings(): string;
  /** The frontend's sign-in page; undefined without a frontend (the API has no login page). */
  login(): string | undefined;
}

/** Values are percent-encoded, so a username or slug can never change the path around it. */
function fill(pattern: string, name: string, value: string): string {
  return pattern.replace(`:${name}`, encodeURIComponent(value));
}

export function createLinks(appUrl: string, frontend: FrontendRoutes | undefined): Links {
  if (frontend) {
    return {
      profile: (username) => frontend.url + fill(frontend.profilePath, 'username', username),
      article: (slug) => frontend.url + fill(frontend.articlePath, 'slug', slug),
      // Frontends show the comments under the article.
      comments: (slug) => frontend.url + fill(frontend.articlePath, 'slug', slug),
      settings: () => frontend.url + frontend.settingsPath,
      login: () => frontend.url + frontend.loginPath,
    };
  }
  return {
    profile: (username) => `${appUrl}/profile/${encodeURIComponent(username)}`,
    article: (slug) => `${appUrl}/article/${encodeURIComponent(slug)}`,
    comments: (slug) => `${appUrl}/article/${encodeURIComponent(slug)}#comments`,
    // Without a frontend the switches are edited through the API; Swagger UI is its human face.
    settings: () => `${appUrl}/docs#/Notifications`,
    login: () => undefined,
  };
}
