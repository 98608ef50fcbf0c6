import { and, desc, eq, sql } from 'drizzle-orm';
import { cacheWrites } from '../../cache/namespaces.js';
import type { Queryable } from '../../db/client.js';
import { comments, users } from '../../db/schema.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import type { UnitOfWork } from '../../unit-of-work.js';
import { findVisibleArticleId } from '../articles/queries.js';
import { queueNewCommentEmail } from '../notifications/emails.js';
import { type Profile, type ProfileView, presentProfile, profileColumns } from '../profiles/service.js';

/** Viewer-independent (cacheable); `followedAmong` + `presentComment` add `author.following`. */
export interface CommentView {
  id: number;
  body: string;
  createdAt: string;
  updatedAt: string;
  author: ProfileView;
}

export interface Comment {
  id: number;
  body: string;
  createdAt: string;
  updatedAt: string;
  author: Profile;
}

const commentColumns = {
  id: comments.id,
  body: comments.body,
  createdAt: comments.createdAt,
  updatedAt: comments.updatedAt,
  author: profileColumns,
};

function toView(row: { id: number; body: string; createdAt: Date; updatedAt: Date; author: ProfileView }) {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

/** Run as named statements: PostgreSQL plans each shape once per connection, not per request. */
function selectComments(db: Queryable) {
  return db.select(commentColumns).from(comments).innerJoin(users, eq(users.id, comments.authorId));
}

/** An article's comments, newest first, with their authors: two queries whatever their number. */
export async function listComments(
  db: Queryable,
  slug: string,
  viewerId: number | null,
): Promise<CommentView[]> {
  const articleId = await findVisibleArticleId(db, slug, viewerId);
  const rows = await selectComments(db)
    .where(eq(comments.articleId, sql.placeholder('articleId')))
    .orderBy(desc(comments.createdAt), desc(comments.id))
    .prepare('article_comments')
    .execute({ articleId });
  return rows.map(toView);
}

/**
 * Adds the comment and, in the same unit of work, the email to the article's author (not to
 * yourself on your own article, nor when the author switched it off: both checked there).
 */
export async function addComment(
  uow: UnitOfWork,
  viewerId: number,
  slug: string,
  body: string,
): Promise<CommentView> {
  if (body.trim() === '') throw new ValidationError({ body: ["can't be blank"] });
  const { tx } = uow;
  const articleId = await findVisibleArticleId(tx, slug, viewerId, { lock: true });
  const [inserted] = await tx
    .insert(comments)
    .values({ articleId, authorId: viewerId, body })
    .returning({ id: comments.id });
  if (!inserted) throw new Error('comment insert returned no row');
  await queueNewCommentEmail(uow, { commentId: inserted.id });
  uow.invalidate(cacheWrites.commentChanged(slug));
  const [row] = await selectComments(tx)
    .where(eq(comments.id, sql.placeholder('id')))
    .prepare('comment_by_id')
    .execute({ id: inserted.id });
  if (!row) throw new Error('inserted comment not found');
  return toView(row);
}

/** 404 when the comment is absent or belongs to another article; 403 unless it is the viewer's. */
export async function deleteComment(
  uow: UnitOfWork,
  viewerId: number,
  slug: string,
  id: number,
): Promise<void> {
  const { tx } = uow;
  const articleId = await findVisibleArticleId(tx, slug, viewerId, { lock: true });
  const [comment] = await tx
    .select({ authorId: comments.authorId })
    .from(comments)
    .where(and(eq(comments.id, id), eq(comments.articleId, articleId)))
    .for('update');
  if (!comment) throw new NotFoundError('Comment');
  if (comment.authorId !== viewerId) throw new ForbiddenError('Only the author may delete this comment');
  await tx.delete(comments).where(eq(comments.id, id));
  uow.invalidate(cacheWrites.commentChanged(slug));
}

export function presentComment(
  view: CommentView,
  following: ReadonlySet<number>,
  defaultImage: string,
): Comment {
  return { ...view, author: presentProfile(view.author, following.has(view.author.id), defaultImage) };
}
