import { Type } from 'typebox';
import { Nullable } from '../../typebox.js';
import { ProfileSchema } from '../profiles/schemas.js';

/** Size limits (docs/API.md, "Profiles, articles, comments, tags"); a violation is a 422 naming the field. */
export const LIMITS = {
  title: 200,
  description: 500,
  body: 65_536,
  tags: 10,
  tagLength: 40,
  slug: 200,
  filter: 100,
} as const;

export const PAGE_LIMIT_DEFAULT = 20;
/** Larger `limit` values are capped to this rather than refused, so clients never need to know it. */
export const PAGE_LIMIT_MAX = 100;
const INT32_MAX = 2_147_483_647;

const TagListSchema = Type.Array(Type.String({ maxLength: LIMITS.tagLength }), {
  maxItems: LIMITS.tags,
  description: `At most ${LIMITS.tags} tags of at most ${LIMITS.tagLength} characters; trimmed and de-duplicated`,
});

const ArticleFields = {
  slug: Type.String(),
  title: Type.String(),
  description: Type.String(),
  tagList: Type.Array(Type.String(), { description: 'Alphabetical' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  // Beyond the spec (scheduled publishing); RealWorld clients ignore unknown fields.
  publishAt: Nullable(Type.String({ format: 'date-time' }), {
    description: 'Requested publication time; null when published on creation',
  }),
  publishedAt: Nullable(Type.String({ format: 'date-time' }), {
    description: 'When it became visible to everyone; null while scheduled (only its author sees it)',
  }),
  favorited: Type.Boolean(),
  favoritesCount: Type.Integer(),
  author: ProfileSchema,
};

export const ArticleSchema = Type.Object({ ...ArticleFields, body: Type.String() });
/** Spec v1.1.0: list items carry no body. */
export const ArticleListItemSchema = Type.Object(ArticleFields);

export const SingleArticleResponseSchema = Type.Object({ article: ArticleSchema });
export const MultipleArticlesResponseSchema = Type.Object({
  articles: Type.Array(ArticleListItemSchema),
  articlesCount: Type.Integer({ description: 'All articles matching the filter, not the page size' }),
});

/** RFC 3339 with a time zone; 40 characters is ample for any valid one (bounds the input). */
const PublishAtSchema = Type.String({
  format: 'date-time',
  maxLength: 40,
  description:
    'Beyond the spec: publish at this time. In the future → visible only to its author until then; absent or past → published now',
});

export const NewArticleBodySchema = Type.Object({
  article: Type.Object({
    title: Type.String({ minLength: 1, maxLength: LIMITS.title }),
    description: Type.String({ minLength: 1, maxLength: LIMITS.description }),
    body: Type.String({ minLength: 1, maxLength: LIMITS.body }),
    tagList: Type.Optional(TagListSchema),
    publishAt: Type.Optional(PublishAtSchema),
  }),
});

export const UpdateArticleBodySchema = Type.Object({
  article: Type.Object({
    title: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.title })),
    description: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.description })),
    body: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.body })),
    tagList: Type.Optional(TagListSchema),
    publishAt: Type.Optional(
      Type.Union([PublishAtSchema, Type.Null()], {
        description:
          'Scheduled articles only: a new time reschedules it, null or a past time publishes it now (422 on a published article)',
      }),
    ),
  }),
});

export const SlugParamsSchema = Type.Object({
  slug: Type.String({ minLength: 1, maxLength: LIMITS.slug }),
});

const PagingFields = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: INT32_MAX,
      default: PAGE_LIMIT_DEFAULT,
      description: `Page size, default ${PAGE_LIMIT_DEFAULT}; values above ${PAGE_LIMIT_MAX} are capped`,
    }),
  ),
  offset: Type.Optional(
    Type.Integer({ minimum: 0, maximum: INT32_MAX, default: 0, description: 'Articles to skip' }),
  ),
};

export const FeedQuerySchema = Type.Object(PagingFields);

export const ListQuerySchema = Type.Object({
  tag: Type.Optional(Type.String({ maxLength: LIMITS.filter, description: 'Only articles with this tag' })),
  author: Type.Optional(Type.String({ maxLength: LIMITS.filter, description: 'Username of the author' })),
  favorited: Type.Optional(
    Type.String({ maxLength: LIMITS.filter, description: 'Username of a user who favorited them' }),
  ),
  ...PagingFields,
});

/** Paging as the services take it: defaults applied, `limit` capped. */
export function paging(query: { limit?: number; offset?: number }): { limit: number; offset: number } {
  return { limit: Math.min(query.limit ?? PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX), offset: query.offset ?? 0 };
}
