import type { Links } from '../../email/links.js';
import { html, layout, link, SafeHtml } from '../../email/templates/html.js';
import type { ArticleView, FullArticleView } from '../articles/queries.js';
import type { CommentView } from '../comments/service.js';
import type { ProfileView } from '../profiles/service.js';

/**
 * The API's own small pages for people: what an email's profile and article links open when no
 * FRONTEND_URL is set, and the root page. Every value is escaped by `html`; no scripts.
 */

const muted = 'font-size:13px;color:#818a91';
const none = new SafeHtml('');

function day(iso: string | null): string {
  return iso ? iso.slice(0, 10) : '';
}

export interface HomeLinks {
  appUrl: string;
  frontendUrl: string | undefined;
  devMail: boolean;
}

export function homePage({ appUrl, frontendUrl, devMail }: HomeLinks): string {
  const item = (href: string, label: string, what: string) =>
    html`<li style="margin:0 0 8px">${link(href, label)} <span style="${muted}">${what}</span></li>`;
  return layout(
    'Conduit API',
    html`<h2 style="font-size:18px;margin:0 0 12px">Conduit API</h2>
<p>The backend of the RealWorld "Conduit" blogging platform. It answers JSON under
<code>${appUrl}/api</code>; point a RealWorld frontend there.</p>
<ul style="padding-left:20px">
${item(`${appUrl}/docs`, 'API documentation', 'Swagger UI: try every endpoint')}
${item(`${appUrl}/openapi.json`, 'OpenAPI document', 'for client generators')}
${item(`${appUrl}/health/ready`, 'Health', 'whether the database and other services answer')}
${devMail ? item(`${appUrl}/dev/mail`, 'Mail', 'the emails this instance wrote (development only)') : none}
${frontendUrl ? item(frontendUrl, 'The app', 'the frontend this API serves') : none}
</ul>`,
  );
}

export function notFoundPage(what: string): string {
  return layout(
    'Not found',
    html`<h2 style="font-size:18px;margin:0 0 12px">Not found</h2><p>This ${what} does not exist (any more).</p>`,
  );
}

export function profilePage(
  profile: ProfileView,
  articles: readonly ArticleView[],
  articlesCount: number,
  links: Links,
): string {
  const items = articles.map(
    (a) =>
      html`<li style="margin:0 0 10px">${link(links.article(a.slug), a.title)}<br><span style="${muted}">${a.description} · ${day(a.publishedAt)}</span></li>`,
  );
  return layout(
    profile.username,
    html`<h2 style="font-size:20px;margin:0 0 8px">${profile.username}</h2>
${profile.bio ? html`<p style="white-space:pre-wrap">${profile.bio}</p>` : none}
<h3 style="font-size:16px;margin:20px 0 8px">Articles (${articlesCount})</h3>
${items.length > 0 ? html`<ul style="padding-left:20px">${items}</ul>` : html`<p style="${muted}">No articles yet.</p>`}`,
  );
}

export function articlePage(
  article: FullArticleView,
  comments: readonly CommentView[],
  links: Links,
): string {
  const author = link(links.profile(article.author.username), article.author.username);
  const tags =
    article.tagList.length > 0 ? html`<p style="${muted}">Tags: ${article.tagList.join(', ')}</p>` : none;
  const items = comments.map(
    (c) =>
      html`<li style="margin:0 0 12px"><div style="white-space:pre-wrap">${c.body}</div><span style="${muted}">${link(links.profile(c.author.username), c.author.username)} · ${day(c.createdAt)}</span></li>`,
  );
  return layout(
    article.title,
    html`<h2 style="font-size:22px;margin:0 0 4px">${article.title}</h2>
<p style="${muted}">by ${author} · ${day(article.publishedAt)} · ${article.favoritesCount} ♥</p>
<p><em>${article.description}</em></p>
<div style="white-space:pre-wrap;margin:16px 0">${article.body}</div>
${tags}
<h3 id="comments" style="font-size:16px;margin:24px 0 8px">Comments (${comments.length})</h3>
${items.length > 0 ? html`<ul style="padding-left:20px;list-style:none">${items}</ul>` : html`<p style="${muted}">No comments yet.</p>`}`,
  );
}
