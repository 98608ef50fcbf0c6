import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForBackgroundSettled } from '../../email/wait.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';
import { postArticle } from '../articles/support.js';

let t: TestApp;
let ann: TestUser;
let bob: TestUser;
let slug: string;
beforeAll(async () => {
  t = await createTestApp();
  ann = await insertUser(t);
  bob = await insertUser(t, { bio: 'bob bio', image: 'https://example.com/b.png' });
  slug = (await postArticle(t, ann)).slug;
});
afterAll(() => t.close());

function addComment(articleSlug: string, body: unknown, headers?: { authorization: string }) {
  return t.app.inject({
    method: 'POST',
    url: `/api/articles/${articleSlug}/comments`,
    headers,
    payload: { comment: { body } },
  });
}

function listComments(articleSlug: string, headers?: { authorization: string }) {
  return t.app.inject({ method: 'GET', url: `/api/articles/${articleSlug}/comments`, headers });
}

describe('comments', () => {
  it('adds a comment with an integer id and the author profile', async () => {
    const res = await addComment(slug, 'Thank you!', bob.headers);
    expect(res.statusCode).toBe(200);
    const { comment } = res.json();
    expect(comment).toEqual({
      id: expect.any(Number),
      body: 'Thank you!',
      createdAt: expect.stringMatching(/Z$/),
      updatedAt: comment.createdAt,
      author: {
        username: bob.username,
        bio: 'bob bio',
        image: 'https://example.com/b.png',
        following: false,
      },
    });
    expect(Number.isInteger(comment.id)).toBe(true);
  });

  it('lists comments newest first, anonymously or with the viewer following flags', async () => {
    const article = await postArticle(t, ann);
    const first = (await addComment(article.slug, 'first', bob.headers)).json().comment;
    const second = (await addComment(article.slug, 'second', ann.headers)).json().comment;
    const anonymous = await listComments(article.slug);
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json().comments.map((c: { id: number }) => c.id)).toEqual([second.id, first.id]);

    await t.app.inject({ method: 'POST', url: `/api/profiles/${bob.username}/follow`, headers: ann.headers });
    const asAnn = (await listComments(article.slug, ann.headers)).json().comments;
    expect(asAnn.map((c: { author: { following: boolean } }) => c.author.following)).toEqual([false, true]);
    const anonymousAgain = (await listComments(article.slug)).json().comments;
    expect(anonymousAgain.every((c: { author: { following: boolean } }) => !c.author.following)).toBe(true);
  });

  it('lists no comments as an empty array', async () => {
    const article = await postArticle(t, ann);
    expect((await listComments(article.slug)).json()).toEqual({ comments: [] });
  });

  it('lists comments in a constant number of queries', async () => {
    const article = await postArticle(t, ann);
    await addComment(article.slug, 'only one', bob.headers);
    // The new-comment emails are delivered in the background: let them finish before counting.
    await waitForBackgroundSettled(t.deps.database.db);
    t.queries.reset();
    await listComments(article.slug, ann.headers);
    const one = t.queries.count;
    for (let i = 0; i < 6; i++)
      await addComment(article.slug, `comment ${i}`, i % 2 ? ann.headers : bob.headers);
    await waitForBackgroundSettled(t.deps.database.db);
    t.queries.reset();
    await listComments(article.slug, ann.headers);
    // token user, article, comments with authors, the viewer's follows of those authors.
    expect(t.queries.count).toBe(one);
    expect(one).toBe(4);
  });

  it('answers 404 for comments of a missing article', async () => {
    expect((await listComments('no-such-article')).statusCode).toBe(404);
    expect((await addComment('no-such-article', 'hi', bob.headers)).statusCode).toBe(404);
  });

  it('answers 401 without a token (and for a bad one, even when listing)', async () => {
    expect((await addComment(slug, 'hi')).statusCode).toBe(401);
    expect((await listComments(slug, { authorization: 'Token bad' })).statusCode).toBe(401);
  });

  it.each([
    ['a missing body', undefined, 'is required'],
    ['a blank body', '   ', "can't be blank"],
    ['a body over 10000 characters', 'x'.repeat(10_001), undefined],
  ])('answers 422 naming body for %s', async (_, body, message) => {
    const res = await addComment(slug, body, bob.headers);
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toHaveProperty('body');
    if (message) expect(res.json().errors.body).toContain(message);
  });

  describe('delete', () => {
    it('lets the author delete (204); the comment is gone', async () => {
      const { comment } = (await addComment(slug, 'to delete', bob.headers)).json();
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/api/articles/${slug}/comments/${comment.id}`,
        headers: bob.headers,
      });
      expect(res.statusCode).toBe(204);
      const ids = (await listComments(slug)).json().comments.map((c: { id: number }) => c.id);
      expect(ids).not.toContain(comment.id);
    });

    it("answers 403 to anyone else, even the article's author", async () => {
      const { comment } = (await addComment(slug, 'mine', bob.headers)).json();
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/api/articles/${slug}/comments/${comment.id}`,
        headers: ann.headers,
      });
      expect(res.statusCode).toBe(403);
      const ids = (await listComments(slug)).json().comments.map((c: { id: number }) => c.id);
      expect(ids).toContain(comment.id);
    });

    it('answers 404 for a missing comment or one on another article', async () => {
      const other = await postArticle(t, ann);
      const { comment } = (await addComment(other.slug, 'elsewhere', bob.headers)).json();
      const wrongArticle = await t.app.inject({
        method: 'DELETE',
        url: `/api/articles/${slug}/comments/${comment.id}`,
        headers: bob.headers,
      });
      expect(wrongArticle.statusCode).toBe(404);
      const missing = await t.app.inject({
        method: 'DELETE',
        url: `/api/articles/${slug}/comments/999999`,
        headers: bob.headers,
      });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().errors).toEqual({ body: ['Comment not found'] });
      const missingArticle = await t.app.inject({
        method: 'DELETE',
        url: `/api/articles/no-such-article/comments/${comment.id}`,
        headers: bob.headers,
      });
      expect(missingArticle.statusCode).toBe(404);
    });

    it('answers 401 without a token and 422 for a non-integer id', async () => {
      const { comment } = (await addComment(slug, 'x', bob.headers)).json();
      const anonymous = await t.app.inject({
        method: 'DELETE',
        url: `/api/articles/${slug}/comments/${comment.id}`,
      });
      expect(anonymous.statusCode).toBe(401);
      const bad = await t.app.inject({
        method: 'DELETE',
        url: `/api/articles/${slug}/comments/abc`,
        headers: bob.headers,
      });
      expect(bad.statusCode).toBe(422);
      expect(bad.json().errors).toHaveProperty('id');
    });
  });
});
