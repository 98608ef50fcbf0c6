import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/email/templates/html.js';
import { renderEmail, TEMPLATE_NAMES, TEMPLATES } from '../../src/email/templates/index.js';

const appUrl = 'https://conduit.example';
const unsubscribeUrl = 'https://conduit.example/api/notifications/unsubscribe?token=1.new_comment.sig';
const context = { appUrl, unsubscribeUrl };
const evil = '<script>alert("x")</script> & \'co\'';

describe('escapeHtml', () => {
  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('verify-email', () => {
  it('links to the verification endpoint with the token, in both bodies', () => {
    const email = renderEmail('verify-email', { username: 'ann', token: 'tok-123' }, { appUrl });
    const url = 'https://conduit.example/api/auth/verify-email?token=tok-123';
    expect(email.subject).toBe('Confirm your email address');
    expect(email.text).toContain(url);
    expect(email.html).toContain(`href="${url}"`);
    expect(email.text).toMatch(/^Hi ann,/);
    // Account emails are not notifications: nothing to unsubscribe from.
    expect(email.headers).toEqual({});
  });

  it('escapes the username in HTML but keeps it verbatim in text', () => {
    const email = renderEmail('verify-email', { username: evil, token: 't' }, { appUrl });
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;');
    expect(email.text).toContain(evil);
  });

  it('encodes the token in the URL', () => {
    const email = renderEmail('verify-email', { username: 'ann', token: 'a b&c' }, { appUrl });
    expect(email.text).toContain('?token=a%20b%26c');
  });
});

describe('reset-password', () => {
  it('links to the reset page and states the expiry', () => {
    const email = renderEmail(
      'reset-password',
      { username: 'ann', token: 'r-1', expiresInMinutes: 30 },
      { appUrl },
    );
    expect(email.subject).toBe('Reset your Conduit password');
    expect(email.text).toContain('https://conduit.example/api/auth/reset-password?token=r-1');
    expect(email.html).toContain('href="https://conduit.example/api/auth/reset-password?token=r-1"');
    expect(email.text).toContain('expires in 30 minutes');
  });
});

describe('notifications', () => {
  const cases = {
    'new-follower': renderEmail('new-follower', { followerUsername: evil }, context),
    'new-comment': renderEmail(
      'new-comment',
      {
        articleSlug: 'how-to',
        articleTitle: evil,
        commenterUsername: 'bob',
        commentExcerpt: `nice\n${evil}`,
      },
      context,
    ),
    'new-article': renderEmail(
      'new-article',
      { articleSlug: 'how-to', articleTitle: evil, articleDescription: evil, authorUsername: 'carol' },
      context,
    ),
    'weekly-digest': renderEmail(
      'weekly-digest',
      {
        weekOf: '2026-11-16',
        articles: [
          { slug: 'first', title: evil, authorUsername: 'carol', favoritesCount: 9 },
          { slug: 'second', title: 'Second', authorUsername: 'dan', favoritesCount: 3 },
        ],
      },
      context,
    ),
  };

  it.each(Object.entries(cases))('%s carries the RFC 8058 one-click unsubscribe headers', (_, email) => {
    expect(email.headers).toEqual({
      'List-Unsubscribe': `<${unsubscribeUrl}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(email.text).toContain(unsubscribeUrl);
    expect(email.html).toContain(`href="${escapeHtml(unsubscribeUrl)}"`);
  });

  it.each(Object.entries(cases))('%s escapes every user-supplied value in HTML', (_, email) => {
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;');
  });

  it('new-follower names the follower and links to their profile', () => {
    const email = renderEmail('new-follower', { followerUsername: 'bob smith' }, context);
    expect(email.subject).toBe('bob smith is now following you');
    expect(email.text).toContain('https://conduit.example/profile/bob%20smith');
  });

  it('new-comment quotes the comment and links to the comments', () => {
    const email = renderEmail(
      'new-comment',
      {
        articleSlug: 'how-to',
        articleTitle: 'How to',
        commenterUsername: 'bob',
        commentExcerpt: 'line 1\nline 2',
      },
      context,
    );
    expect(email.subject).toBe('bob commented on "How to"');
    expect(email.text).toContain('> line 1\n> line 2');
    expect(email.text).toContain('https://conduit.example/article/how-to#comments');
  });

  it('new-article names the author and links to the article', () => {
    const email = renderEmail(
      'new-article',
      { articleSlug: 'how-to', articleTitle: 'How to', articleDescription: 'd', authorUsername: 'carol' },
      context,
    );
    expect(email.subject).toBe('New article by carol: How to');
    expect(email.text).toContain('https://conduit.example/article/how-to');
  });

  it('weekly-digest lists the articles in the given order with links', () => {
    const email = cases['weekly-digest'];
    expect(email.subject).toBe('Your Conduit weekly digest (week of 2026-11-16)');
    const first = email.text.indexOf('https://conduit.example/article/first');
    const second = email.text.indexOf('https://conduit.example/article/second');
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
    expect(email.text).toContain('(9 ♥)');
  });

  it('refuses to render a notification without an unsubscribe link', () => {
    expect(() => renderEmail('new-follower', { followerUsername: 'bob' }, { appUrl })).toThrow(/unsubscribe/);
  });
});

describe('the template registry', () => {
  it('marks exactly the notification templates with a preference kind', () => {
    const kinds = Object.fromEntries(TEMPLATE_NAMES.map((name) => [name, TEMPLATES[name].kind]));
    expect(kinds).toEqual({
      'verify-email': null,
      'reset-password': null,
      'new-follower': 'new_follower',
      'new-comment': 'new_comment',
      'new-article': 'new_article',
      'weekly-digest': 'weekly_digest',
    });
  });

  it('declares the one-time tokens as secrets', () => {
    expect(TEMPLATES['verify-email'].secretFields).toEqual(['token']);
    expect(TEMPLATES['reset-password'].secretFields).toEqual(['token']);
    expect(TEMPLATES['new-comment'].secretFields).toEqual([]);
  });

  it('is pure: the same input renders the same email', () => {
    const data = { followerUsername: 'bob' };
    expect(renderEmail('new-follower', data, context)).toEqual(renderEmail('new-follower', data, context));
  });
});
