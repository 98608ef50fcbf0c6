import type { NotificationKind } from '../unsubscribe.js';
import { button, html, layout, link, type SafeHtml } from './html.js';
import { linksOf, type RenderContext, type RenderedEmail, type TemplateDefinition } from './types.js';

export interface NewFollowerData {
  followerUsername: string;
}

export interface NewCommentData {
  articleSlug: string;
  articleTitle: string;
  commenterUsername: string;
  /** The start of the comment, already cut to a readable length by the caller. */
  commentExcerpt: string;
}

export interface NewArticleData {
  articleSlug: string;
  articleTitle: string;
  articleDescription: string;
  authorUsername: string;
}

export interface DigestArticle {
  slug: string;
  title: string;
  authorUsername: string;
  favoritesCount: number;
}

export interface WeeklyDigestData {
  /** First day of the week covered, `YYYY-MM-DD`. */
  weekOf: string;
  articles: DigestArticle[];
}

const KIND_LABELS: Record<NotificationKind, string> = {
  new_follower: 'new follower',
  new_comment: 'new comment',
  new_article: 'new article',
  weekly_digest: 'weekly digest',
};

export function notificationKindLabel(kind: NotificationKind): string {
  return KIND_LABELS[kind];
}

/**
 * Every notification carries the RFC 8058 pair: mail clients show an "Unsubscribe" button that
 * POSTs to the signed URL without opening a browser or asking the user to log in.
 */
function notification(
  kind: NotificationKind,
  context: RenderContext,
  parts: { subject: string; text: string[]; html: SafeHtml },
): RenderedEmail {
  const unsubscribe = context.unsubscribeUrl;
  if (!unsubscribe) throw new Error(`the ${kind} template needs an unsubscribe URL`);
  const why = `You get this email because ${KIND_LABELS[kind]} notifications are on for your Conduit account.`;
  const settings = linksOf(context).settings();
  return {
    subject: parts.subject,
    headers: {
      'List-Unsubscribe': `<${unsubscribe}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    text: [
      ...parts.text,
      '',
      '--',
      why,
      `Unsubscribe from ${KIND_LABELS[kind]} emails: ${unsubscribe}`,
      `All your notification settings: ${settings}`,
    ].join('\n'),
    html: layout(
      parts.subject,
      parts.html,
      html`${why} ${link(unsubscribe, `Unsubscribe from ${KIND_LABELS[kind]} emails`)} · ${link(settings, 'Notification settings')}.`,
    ),
  };
}

export const newFollower: TemplateDefinition<NewFollowerData> = {
  kind: 'new_follower',
  secretFields: [],
  render({ followerUsername }, context) {
    const url = linksOf(context).profile(followerUsername);
    return notification('new_follower', context, {
      subject: `${followerUsername} is now following you`,
      text: [`${followerUsername} is now following you on Conduit.`, '', `See their profile: ${url}`],
      html: html`<p><strong>${followerUsername}</strong> is now following you on Conduit.</p>
${button(url, 'See their profile')}`,
    });
  },
};

export const newComment: TemplateDefinition<NewCommentData> = {
  kind: 'new_comment',
  secretFields: [],
  render({ articleSlug, articleTitle, commenterUsername, commentExcerpt }, context) {
    const url = linksOf(context).comments(articleSlug);
    return notification('new_comment', context, {
      subject: `${commenterUsername} commented on "${articleTitle}"`,
      text: [
        `${commenterUsername} commented on your article "${articleTitle}":`,
        '',
        ...commentExcerpt.split('\n').map((line) => `> ${line}`),
        '',
        `Read the comments: ${url}`,
      ],
      html: html`<p><strong>${commenterUsername}</strong> commented on your article <em>${articleTitle}</em>:</p>
<blockquote style="margin:16px 0;padding:8px 16px;border-left:3px solid #ddd;white-space:pre-wrap">${commentExcerpt}</blockquote>
${button(url, 'Read the comments')}`,
    });
  },
};

export const newArticle: TemplateDefinition<NewArticleData> = {
  kind: 'new_article',
  secretFields: [],
  render({ articleSlug, articleTitle, articleDescription, authorUsername }, context) {
    const url = linksOf(context).article(articleSlug);
    return notification('new_article', context, {
      subject: `New article by ${authorUsername}: ${articleTitle}`,
      text: [
        `${authorUsername}, whom you follow, published a new article:`,
        '',
        articleTitle,
        articleDescription,
        '',
        `Read it: ${url}`,
      ],
      html: html`<p><strong>${authorUsername}</strong>, whom you follow, published a new article:</p>
<h2 style="font-size:18px;margin:16px 0 4px">${articleTitle}</h2>
<p style="color:#818a91">${articleDescription}</p>
${button(url, 'Read the article')}`,
    });
  },
};

export const weeklyDigest: TemplateDefinition<WeeklyDigestData> = {
  kind: 'weekly_digest',
  secretFields: [],
  render({ weekOf, articles }, context) {
    const links = linksOf(context);
    const lines = articles.map(
      (a, i) =>
        `${i + 1}. ${a.title} by ${a.authorUsername} (${a.favoritesCount} ♥)\n   ${links.article(a.slug)}`,
    );
    const items = articles.map(
      (a) =>
        html`<li style="margin:0 0 12px">${link(links.article(a.slug), a.title)}<br><span style="font-size:13px;color:#818a91">by ${a.authorUsername} · ${a.favoritesCount} ♥</span></li>`,
    );
    return notification('weekly_digest', context, {
      subject: `Your Conduit weekly digest (week of ${weekOf})`,
      text: [
        `The most favorited articles of the week of ${weekOf} from the people you follow:`,
        '',
        ...lines,
      ],
      html: html`<p>The most favorited articles of the week of ${weekOf} from the people you follow:</p>
<ol style="padding-left:20px">${items}</ol>`,
    });
  },
};
