import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';

let t: TestApp;
let ann: TestUser;
let bob: TestUser;
beforeAll(async () => {
  t = await createTestApp();
  ann = await insertUser(t);
  bob = await insertUser(t, { bio: 'I write', image: 'https://example.com/bob.png' });
});
afterAll(() => t.close());

function follow(method: 'POST' | 'DELETE', username: string, headers?: { authorization: string }) {
  return t.app.inject({ method, url: `/api/profiles/${encodeURIComponent(username)}/follow`, headers });
}

describe('GET /api/profiles/:username', () => {
  it('answers the profile anonymously, following false', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/api/profiles/${bob.username}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      profile: {
        username: bob.username,
        bio: 'I write',
        image: 'https://example.com/bob.png',
        following: false,
      },
    });
  });

  it('finds the user whatever the case of the username', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/api/profiles/${bob.username.toUpperCase()}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().profile.username).toBe(bob.username);
  });

  it('answers bio as null and image as the default avatar when unset, and never leaks private fields', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/api/profiles/${ann.username}` });
    expect(res.json()).toEqual({
      profile: {
        username: ann.username,
        bio: null,
        image: `${t.config.appUrl}/avatars/default.svg`,
        following: false,
      },
    });
    expect(res.body).not.toMatch(/email|password|hash|role/i);
  });

  it('answers 404 for an unknown user', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/profiles/nobody_here' });
    expect(res.statusCode).toBe(404);
    expect(res.json().errors).toEqual({ body: ['Profile not found'] });
  });

  it('answers 401 for a bad token even though sign-in is optional', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/profiles/${bob.username}`,
      headers: { authorization: 'Token not.a.jwt' },
    });
    expect(res.statusCode).toBe(401);
  });

  it('answers 422 for an over-long username', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/api/profiles/${'x'.repeat(101)}` });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toHaveProperty('username');
  });
});

describe('follow and unfollow', () => {
  it('follows, shows following to the follower only, and is idempotent', async () => {
    const first = await follow('POST', bob.username, ann.headers);
    expect(first.statusCode).toBe(200);
    expect(first.json().profile).toMatchObject({ username: bob.username, following: true });

    const again = await follow('POST', bob.username, ann.headers);
    expect(again.statusCode).toBe(200);
    expect(again.json().profile.following).toBe(true);

    const asAnn = await t.app.inject({
      method: 'GET',
      url: `/api/profiles/${bob.username}`,
      headers: ann.headers,
    });
    expect(asAnn.json().profile.following).toBe(true);
    const anonymous = await t.app.inject({ method: 'GET', url: `/api/profiles/${bob.username}` });
    expect(anonymous.json().profile.following).toBe(false);
    const reverse = await t.app.inject({
      method: 'GET',
      url: `/api/profiles/${ann.username}`,
      headers: bob.headers,
    });
    expect(reverse.json().profile.following).toBe(false);
  });

  it('unfollows, idempotently', async () => {
    await follow('POST', bob.username, ann.headers);
    const first = await follow('DELETE', bob.username, ann.headers);
    expect(first.statusCode).toBe(200);
    expect(first.json().profile).toMatchObject({ username: bob.username, following: false });
    const again = await follow('DELETE', bob.username, ann.headers);
    expect(again.statusCode).toBe(200);
    expect(again.json().profile.following).toBe(false);
    const asAnn = await t.app.inject({
      method: 'GET',
      url: `/api/profiles/${bob.username}`,
      headers: ann.headers,
    });
    expect(asAnn.json().profile.following).toBe(false);
  });

  it('survives concurrent follows of the same user', async () => {
    const carl = await insertUser(t);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => follow('POST', carl.username, ann.headers)),
    );
    expect(results.map((res) => res.statusCode)).toEqual([200, 200, 200, 200, 200]);
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/profiles/${carl.username}`,
      headers: ann.headers,
    });
    expect(res.json().profile.following).toBe(true);
  });

  it('refuses to follow or unfollow yourself with 422', async () => {
    for (const method of ['POST', 'DELETE'] as const) {
      const res = await follow(method, ann.username, ann.headers);
      expect(res.statusCode).toBe(422);
      expect(res.json().errors).toEqual({ username: ['cannot follow yourself'] });
    }
  });

  it('answers 404 for an unknown user', async () => {
    expect((await follow('POST', 'nobody_here', ann.headers)).statusCode).toBe(404);
    expect((await follow('DELETE', 'nobody_here', ann.headers)).statusCode).toBe(404);
  });

  it('answers 401 without a token or with a bad one', async () => {
    for (const method of ['POST', 'DELETE'] as const) {
      const missing = await follow(method, bob.username);
      expect(missing.statusCode).toBe(401);
      expect(missing.headers['www-authenticate']).toBeDefined();
      expect((await follow(method, bob.username, { authorization: 'Token nope' })).statusCode).toBe(401);
    }
  });
});

describe('GET /avatars/default.svg', () => {
  it('serves the default avatar as an SVG, cacheable for a long time, with nothing that could run', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/avatars/default.svg' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/svg+xml');
    expect(res.headers['cache-control']).toMatch(/^public, max-age=\d{7,}$/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.body).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(res.body).not.toMatch(/<script|on\w+=/i);
  });
});

describe('the default avatar wherever a user appears', () => {
  it('is the image of an article author and a comment author who set none, in lists too', async () => {
    const defaultImage = `${t.config.appUrl}/avatars/default.svg`;
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: ann.headers,
      payload: { article: { title: `Avatar ${ann.username}`, description: 'd', body: 'b' } },
    });
    const { slug } = created.json().article;
    expect(created.json().article.author.image).toBe(defaultImage);
    const comment = await t.app.inject({
      method: 'POST',
      url: `/api/articles/${slug}/comments`,
      headers: ann.headers,
      payload: { comment: { body: 'mine' } },
    });
    expect(comment.json().comment.author.image).toBe(defaultImage);
    for (let i = 0; i < 2; i++) {
      // The second round is answered from the cache: entries keep the image unset, answers never do.
      const list = await t.app.inject({ method: 'GET', url: `/api/articles?author=${ann.username}` });
      expect(list.json().articles[0].author.image).toBe(defaultImage);
      const comments = await t.app.inject({ method: 'GET', url: `/api/articles/${slug}/comments` });
      expect(comments.json().comments[0].author.image).toBe(defaultImage);
      const single = await t.app.inject({
        method: 'GET',
        url: `/api/articles/${slug}`,
        headers: bob.headers,
      });
      expect(single.json().article.author.image).toBe(defaultImage);
    }
    const feed = await follow('POST', ann.username, bob.headers);
    expect(feed.json().profile.image).toBe(defaultImage);
  });
});
