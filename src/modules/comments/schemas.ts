import { Type } from 'typebox';
import { ProfileSchema } from '../profiles/schemas.js';

export const COMMENT_MAX_LENGTH = 10_000;

export const CommentSchema = Type.Object({
  id: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  body: Type.String(),
  author: ProfileSchema,
});

export const SingleCommentResponseSchema = Type.Object({ comment: CommentSchema });
export const MultipleCommentsResponseSchema = Type.Object({
  comments: Type.Array(CommentSchema, { description: 'Newest first' }),
});

export const NewCommentBodySchema = Type.Object({
  comment: Type.Object({ body: Type.String({ minLength: 1, maxLength: COMMENT_MAX_LENGTH }) }),
});

export const CommentParamsSchema = Type.Object({
  slug: Type.String({ minLength: 1, maxLength: 200 }),
  id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
});
