import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLinks } from '../../src/email/links.js';
import { renderEmail } from '../../src/email/templates/index.js';

const base = { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), DATA_DIR: '/tmp/conduit-links-unit' };
const appUrl = 'https://api.example';
const unsubscribeUrl = 'https://api.example/api/notifications/unsubscribe?token=1.new_follower.sig';

describe('FRONTEND_URL and its route patterns', () => {
  it('is unset by default: links open the API’s own pages, never a JSON endpoint', () => {
    const config = loadConfig(base);
    expect(config.frontend).toBeUndefined();
    const links = createLinks(appUrl, config.frontend);
    expect(links.profile('jake')).toBe('https://api.example/profile/jake');
    expect(links.article('how-to')).toBe('https://api.example/article/how-to');
    expect(links.comments('how-to')).toBe('https://api.example/article/how-to#comments');
    expect(links.settings()).toBe('https://api.example/docs#/Notifications');
    expect(links.login()).toBeUndefined();
  });

  it('defaults to the common RealWorld frontend routes', () => {
    const config = loadConfig({ ...base, FRONTEND_URL: 'https://app.example/' });
    expect(config.frontend).toEqual({
      url: 'https://app.example',
      profilePath: '/profile/:username',
      articlePath: '/article/:slug',
      settingsPath: '/settings',
      loginPath: '/login',
    });
    const links = createLinks(appUrl, config.frontend);
    expect(links.profile('jake')).toBe('https://app.example/profile/jake');
    expect(links.article('how-to')).toBe('https://app.example/article/how-to');
    expect(links.comments('how-to')).toBe('https://app.example/article/how-to');
    expect(links.settings()).toBe('https://app.example/settings');
    expect(links.login()).toBe('https://app.example/login');
  });

  it('takes other patterns and hash-routed frontends, and percent-encodes what it inserts', () => {
    const config = loadConfig({
      ...base,
      FRONTEND_URL: 'https://app.example/#',
      FRONTEND_PROFILE_PATH: '/@:username',
      FRONTEND_ARTICLE_PATH: '/posts/:slug/read',
      FRONTEND_SETTINGS_PATH: '/me/settings',
      FRONTEND_LOGIN_PATH: '/sign-in',
    });
    const links = createLinks(appUrl, config.frontend);
    expect(links.profile('a b/../c?d#e')).toBe('https://app.example/#/@a%20b%2F..%2Fc%3Fd%23e');
    expect(links.article('привет-мир')).toBe(
      'https://app.example/#/posts/%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82-%D0%BC%D0%B8%D1%80/read',
    );
    expect(links.settings()).toBe('https://app.example/#/me/settings');
    expect(links.login()).toBe('https://app.example/#/sign-in');
  });

  it.each([
    [{ FRONTEND_URL: 'ftp://app.example' }, /FRONTEND_URL must start with http:\/\/ or https:\/\//],
    [{ FRONTEND_URL: 'not a url' }, /FRONTEND_URL is not a valid URL/],
    [{ FRONTEND_URL: 'https://app.example/?x=1' }, /FRONTEND_URL must not have a query/],
    [
      { FRONTEND_URL: 'https://app.example', FRONTEND_PROFILE_PATH: '/profile/:id' },
      /FRONTEND_PROFILE_PATH must be a path starting with \/ with :username exactly once/,
    ],
    [
      { FRONTEND_URL: 'https://app.example', FRONTEND_ARTICLE_PATH: 'article/:slug' },
      /FRONTEND_ARTICLE_PATH must be a path starting with \//,
    ],
    [
      { FRONTEND_URL: 'https://app.example', FRONTEND_ARTICLE_PATH: '/a/:slug/:slug' },
      /FRONTEND_ARTICLE_PATH .* :slug exactly once/,
    ],
    [
      { FRONTEND_URL: 'https://app.example', FRONTEND_SETTINGS_PATH: '/settings/:tab' },
      /FRONTEND_SETTINGS_PATH .* no :parameter/,
    ],
    [{ FRONTEND_LOGIN_PATH: '/login' }, /FRONTEND_LOGIN_PATH needs FRONTEND_URL/],
  ])('refuses %o with a clear error', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });
});

describe('email links with a frontend', () => {
  const frontend = loadConfig({ ...base, FRONTEND_URL: 'https://app.example' }).frontend;
  const context = { appUrl, frontend, unsubscribeUrl };

  it('point at the frontend’s profile, article and settings routes', () => {
    const follower = renderEmail('new-follower', { followerUsername: 'bob smith' }, context);
    expect(follower.text).toContain('https://app.example/profile/bob%20smith');
    expect(follower.html).toContain('href="https://app.example/profile/bob%20smith"');
    expect(follower.text).toContain('All your notification settings: https://app.example/settings');
    expect(follower.html).toContain('href="https://app.example/settings"');

    const comment = renderEmail(
      'new-comment',
      { articleSlug: 'how-to', articleTitle: 'How to', commenterUsername: 'bob', commentExcerpt: 'hi' },
      context,
    );
    expect(comment.text).toContain('https://app.example/article/how-to');
    const digest = renderEmail(
      'weekly-digest',
      {
        weekOf: '2026-11-16',
        articles: [{ slug: 'first', title: 'First', authorUsername: 'a', favoritesCount: 1 }],
      },
      context,
    );
    expect(digest.html).toContain('href="https://app.example/article/first"');
  });

  it('keep the one-time links (verify, reset) and unsubscribe on the API, which owns those tokens', () => {
    const verify = renderEmail('verify-email', { username: 'ann', token: 't-1' }, context);
    expect(verify.text).toContain('https://api.example/api/auth/verify-email?token=t-1');
    const follower = renderEmail('new-follower', { followerUsername: 'bob' }, context);
    expect(follower.headers['List-Unsubscribe']).toBe(`<${unsubscribeUrl}>`);
  });

  it('never link to a JSON endpoint without a frontend', () => {
    const emails = [
      renderEmail('new-follower', { followerUsername: 'bob' }, { appUrl, unsubscribeUrl }),
      renderEmail(
        'new-article',
        { articleSlug: 's', articleTitle: 'T', articleDescription: 'd', authorUsername: 'a' },
        { appUrl, unsubscribeUrl },
      ),
    ];
    for (const email of emails) {
      const links = email.text.match(/https?:\/\/\S+/g) ?? [];
      expect(links.length).toBeGreaterThan(0);
      // The unsubscribe URL is the one API link: a page for browsers, the one-click endpoint for mail clients.
      const jsonApi = links.filter(
        (l) => l.startsWith(`${appUrl}/api/`) && !l.startsWith(`${appUrl}/api/notifications/unsubscribe`),
      );
      expect(jsonApi).toEqual([]);
    }
  });
});
