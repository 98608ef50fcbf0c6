import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { NotFoundError } from '../../errors.js';

/**
 * The emails the embedded mode wrote under `DATA_DIR/mail` (one `.eml` per email, named
 * `<ISO time>-<random>.eml`, so names sort by time). The id of an email is its file name without
 * `.eml`; only names of that shape are accepted, so an id can never leave the directory.
 */

export const MAIL_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';
const MAIL_ID = new RegExp(MAIL_ID_PATTERN);
/** The newest this many are listed: a development inbox, not an archive. */
export const MAIL_LIST_LIMIT = 200;

export interface MailSummary {
  id: string;
  subject: string;
  to: string;
  date: string | null;
  template: string | null;
}

export interface MailMessage extends MailSummary {
  text: string;
  html: string | null;
  headers: [string, string][];
  /** The .eml file as written. */
  raw: string;
  /** Every http(s) link of the email, decoded (quoted-printable and HTML entities undone), once each. */
  links: string[];
}

export function mailDirectory(dataDir: string): string {
  return path.join(dataDir, 'mail');
}

async function emlIds(directory: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .filter((name) => name.endsWith('.eml'))
    .map((name) => name.slice(0, -'.eml'.length))
    .filter((id) => MAIL_ID.test(id))
    .sort()
    .reverse();
}

function headerText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && 'text' in value && typeof value.text === 'string') return value.text;
  if (typeof value === 'object' && 'value' in value) {
    const params = 'params' in value && value.params ? Object.entries(value.params) : [];
    return [String(value.value), ...params.map(([k, v]) => `${k}=${String(v)}`)].join('; ');
  }
  return Array.isArray(value) ? value.map(headerText).join(', ') : JSON.stringify(value);
}

const URL_IN_TEXT = /https?:\/\/[^\s<>"']+/g;
const HREF = /href="(https?:\/\/[^"]+)"/gi;

function decodeEntities(value: string): string {
  return value
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

async function parse(directory: string, id: string): Promise<MailMessage> {
  const raw = await readFile(path.join(directory, `${id}.eml`));
  const mail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
  const html = typeof mail.html === 'string' ? mail.html : null;
  const text = mail.text ?? '';
  const links = new Set<string>();
  for (const match of html?.matchAll(HREF) ?? []) if (match[1]) links.add(decodeEntities(match[1]));
  for (const match of text.matchAll(URL_IN_TEXT)) links.add(match[0]);
  const template = mail.headers.get('x-conduit-template');
  return {
    id,
    subject: mail.subject ?? '(no subject)',
    to: headerText(mail.to),
    date: mail.date ? mail.date.toISOString() : null,
    template: typeof template === 'string' ? template : null,
    text,
    html,
    headers: mail.headerLines.map(({ line }) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1).trim()];
    }),
    links: [...links],
    raw: raw.toString('utf8'),
  };
}

/** Newest first. */
export async function listMail(dataDir: string): Promise<MailSummary[]> {
  const directory = mailDirectory(dataDir);
  const ids = (await emlIds(directory)).slice(0, MAIL_LIST_LIMIT);
  const messages = await Promise.all(ids.map((id) => parse(directory, id)));
  return messages.map(({ id, subject, to, date, template }) => ({ id, subject, to, date, template }));
}

export async function readMail(dataDir: string, id: string): Promise<MailMessage> {
  if (!MAIL_ID.test(id)) throw new NotFoundError('Email');
  try {
    return await parse(mailDirectory(dataDir), id);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('Email');
    throw error;
  }
}
