import { and, desc, eq } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/client.js';
import { comments, users } from '../../db/schema.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import { findVisibleArticleId } from '../articles/queries.js';
import { type Profile, type ProfileView, presentProfile, profileColumns } from '../profiles/service.js';

type Queryable = Database | Transaction;

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
    .where(eq(comments.articleId, articleId))
    .orderBy(desc(comments.createdAt), desc(comments.id));
  return rows.map(toView);
}

export interface AddCommentOptions {
  /** Runs inside the comment's transaction, after its row is written (the email's log row). */
  onAdded?: (tx: Transaction, commentId: number) => Promise<void>;
}

export async function addComment(
  db: Database,
  viewerId: number,
  slug: string,
  body: string,
  options: AddCommentOptions = {},
): Promise<CommentView> {
  if (body.trim() === '') throw new ValidationError({ body: ["can't be blank"] });
  return db.transaction(async (tx) => {
    const articleId = await findVisibleArticleId(tx, slug, viewerId, { lock: true });
    const [inserted] = await tx
      .insert(comments)
      .values({ articleId, authorId: viewerId, body })
      .returning({ id: comments.id });
    if (!inserted) throw new Error('comment insert returned no row');
    await options.onAdded?.(tx, inserted.id);
    const [row] = await selectComments(tx).where(eq(comments.id, inserted.id));
    if (!row) throw new Error('inserted comment not found');
    return toView(row);
  });
}

/** 404 when the comment is absent or belongs to another article; 403 unless it is the viewer's. */
export async function deleteComment(db: Database, viewerId: number, slug: string, id: number): Promise<void> {
  await db.transaction(async (tx) => {
    const articleId = await findVisibleArticleId(tx, slug, viewerId, { lock: true });
    const [comment] = await tx
      .select({ authorId: comments.authorId })
      .from(comments)
      .where(and(eq(comments.id, id), eq(comments.articleId, articleId)))
      .for('update');
    if (!comment) throw new NotFoundError('Comment');
    if (comment.authorId !== viewerId) throw new ForbiddenError('Only the author may delete this comment');
    await tx.delete(comments).where(eq(comments.id, id));
  });
}

export function presentComment(
  view: CommentView,
  following: ReadonlySet<number>,
  defaultImage: string,
): Comment {
  return { ...view, author: presentProfile(view.author, following.has(view.author.id), defaultImage) };
}
