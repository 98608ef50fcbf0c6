/**
 * What each cached response depends on, and what each write invalidates: the one place to look
 * when a response could be stale. A namespace is a plain string; bumping it (ResponseCache
 * `invalidate`) makes every entry that listed it unreachable.
 *
 * Viewer-specific fields (`favorited`, `following`) are never in a shared entry. A signed-in
 * viewer's personalised response is kept by each process next to the entry (`viewerNamespaces` of
 * `cachedGet`) under the version of `viewer:<id>`, which every favorite and follow of theirs bumps.
 */

/** Every tag list. */
const TAGS = 'tags';
/** Every article list page, whatever its filters (lists are cheap to rebuild; filters are many). */
const ARTICLE_LISTS = 'articles';
/**
 * Every embedded author (article lists, single articles, comments): a profile edit changes them
 * all, and which of them embed a given user is not known before they are read.
 */
const AUTHORS = 'authors';
const article = (slug: string) => `article:${slug}`;
const comments = (slug: string) => `comments:${slug}`;
/** What one viewer favorites and follows: their `favorited` / `following` flags and their feed. */
const viewer = (viewerId: number) => `viewer:${viewerId}`;
/** Usernames are unique case-insensitively, so the namespace is too. */
const profile = (username: string) => `profile:${username.toLowerCase()}`;

/** Namespaces a cached GET depends on: pass them as `namespaces` to `cachedGet`. */
export const cacheReads = {
  /** GET /api/tags */
  tags: (): string[] => [TAGS],
  /** GET /api/articles, every filter and page */
  articleList: (): string[] => [ARTICLE_LISTS, AUTHORS],
  /** GET /api/articles/:slug */
  article: (slug: string): string[] => [article(slug), AUTHORS],
  /** GET /api/articles/:slug/comments */
  comments: (slug: string): string[] => [comments(slug), AUTHORS],
  /** GET /api/profiles/:username */
  profile: (username: string): string[] => [profile(username)],
  /** GET /api/articles/feed: the viewer's follows choose the authors. */
  feed: (viewerId: number): string[] => [ARTICLE_LISTS, AUTHORS, viewer(viewerId)],
  /** What a signed-in viewer's flags depend on: `viewerNamespaces` of every personalised GET. */
  viewer: (viewerId: number): string[] => [viewer(viewerId)],
};

/** Namespaces a write invalidates: pass them to `cache.invalidate(…)` after the commit. */
export const cacheWrites = {
  /** POST /api/articles (visible now or scheduled) */
  articleCreated: (slug: string): string[] => [ARTICLE_LISTS, TAGS, article(slug)],
  /** PUT /api/articles/:slug; a new title may move the article (and its comments) to a new slug. */
  articleUpdated: (previousSlug: string, slug: string): string[] => [
    ARTICLE_LISTS,
    TAGS,
    article(previousSlug),
    article(slug),
    comments(previousSlug),
  ],
  /** DELETE /api/articles/:slug (its comments go with it) */
  articleDeleted: (slug: string): string[] => [ARTICLE_LISTS, TAGS, article(slug), comments(slug)],
  /** A scheduled article becoming visible (job or sweep) */
  articlePublished: (slug: string): string[] => [ARTICLE_LISTS, TAGS, article(slug)],
  /**
   * POST/DELETE /api/articles/:slug/favorite: `favoritesCount` changes in the article and lists,
   * and the viewer's `favorited`.
   */
  favoriteChanged: (slug: string, viewerId: number): string[] => [
    ARTICLE_LISTS,
    article(slug),
    viewer(viewerId),
  ],
  /** POST /api/articles/:slug/comments, DELETE /api/articles/:slug/comments/:id */
  commentChanged: (slug: string): string[] => [comments(slug)],
  /**
   * POST/DELETE /api/profiles/:username/follow: the follower's `following` flags and feed. The
   * profile is bumped too, so a profile payload may carry follower counts without going stale.
   */
  followChanged: (username: string, followerId: number): string[] => [profile(username), viewer(followerId)],
  /** PUT /api/user (username, bio, image): every embedded copy of the author and both profiles. */
  userUpdated: (previousUsername: string, username: string): string[] => [
    AUTHORS,
    profile(previousUsername),
    profile(username),
  ],
  /** A user deleted (their articles, comments, favorites and follows go with them). */
  userDeleted: (username: string): string[] => [AUTHORS, ARTICLE_LISTS, TAGS, profile(username)],
};
