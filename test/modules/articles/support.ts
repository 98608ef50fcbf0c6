import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { articles } from '../../../src/db/schema.js';
import type { TestApp } from '../../support/app.js';
import type { TestUser } from '../../support/users.js';

export interface ArticleJson {
  slug: string;
  title: string;
  description: string;
  body?: string;
  tagList: string[];
  createdAt: string;
  updatedAt: string;
  publishAt: string | null;
  publishedAt: string | null;
  favorited: boolean;
  favoritesCount: number;
  author: { username: string; bio: string | null; image: string | null; following: boolean };
}

let serial = 0;

/** Creates an article through HTTP as `author`; fails the test unless the API answers 201. */
export async function postArticle(
  t: TestApp,
  author: TestUser,
  fields: Partial<{
    title: string;
    description: string;
    body: string;
    tagList: string[];
    publishAt: string;
  }> = {},
): Promise<ArticleJson> {
  serial += 1;
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/articles',
    headers: author.headers,
    payload: {
      article: {
        title: fields.title ?? `Article ${serial} ${Math.random().toString(36).slice(2, 8)}`,
        description: fields.description ?? 'A description',
        body: fields.body ?? 'The body',
        ...(fields.tagList ? { tagList: fields.tagList } : {}),
        ...(fields.publishAt ? { publishAt: fields.publishAt } : {}),
      },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().article;
}

/** The database id of the article with this slug (for outbox rows, jobs and direct SQL). */
export async function articleId(t: TestApp, slug: string): Promise<number> {
  const [row] = await t.deps.database.db
    .select({ id: articles.id })
    .from(articles)
    .where(eq(articles.slug, slug));
  if (!row) throw new Error(`no article ${slug}`);
  return row.id;
}
