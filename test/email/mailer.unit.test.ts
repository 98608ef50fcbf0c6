import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSmtpError, emailMessageId, isTransientSmtpError } from '../../src/email/delivery.js';
import { createMailer, domainOf, type Mailer } from '../../src/email/mailer.js';
import { type InboxServer, startInboxServer } from '../support/inbox.js';

// Real SMTP over loopback, no database: runs once (the `.unit` suffix keeps it out of the
// postgres project, where it would prove nothing new).

const FROM = 'Conduit <no-reply@conduit.test>';
const message = (to: string) => ({
  to,
  subject: 'Hello <there> & welcome',
  text: 'plain body https://conduit.test/a',
  html: '<p>html body</p>',
  headers: { 'List-Unsubscribe': '<https://conduit.test/u?token=t>' },
});

async function sendError(mailer: Mailer, to: string): Promise<unknown> {
  try {
    await mailer.send(message(to));
  } catch (error) {
    return error;
  }
  throw new Error('expected the send to fail');
}

describe('SMTP transport', () => {
  let mail: InboxServer;
  let mailer: Mailer;
  beforeAll(async () => {
    mail = await startInboxServer();
    mailer = createMailer({ smtpUrl: mail.url, from: FROM, dataDir: tmpdir(), connectionTimeoutMs: 2000 });
  });
  afterAll(async () => {
    await mailer.close();
    await mail.close();
  });

  it('delivers to the right inbox with subject, both bodies, sender and extra headers', async () => {
    const inbox = mail.createInbox();
    const other = mail.createInbox();
    const sent = await mailer.send(message(inbox.emailAddress));
    const email = await mail.waitForLatestEmail(inbox, 5000);
    expect(email.to).toEqual([inbox.emailAddress]);
    expect(email.parsed.from?.value).toEqual([{ name: 'Conduit', address: 'no-reply@conduit.test' }]);
    expect(email.subject).toBe('Hello <there> & welcome');
    expect(email.text.trim()).toBe('plain body https://conduit.test/a');
    expect(email.html).toContain('<p>html body</p>');
    expect(email.headers.get('list-unsubscribe')).toBe('<https://conduit.test/u?token=t>');
    expect(email.headers.get('message-id')).toBe(sent.messageId);
    expect(mail.emails(other)).toEqual([]);
  });

  it('classifies a 4xx refusal as transient and a 5xx refusal as permanent', async () => {
    const inbox = mail.createInbox();
    mail.rejectNext(1, 451, 'Greylisted, try later');
    const temporary = await sendError(mailer, inbox.emailAddress);
    expect(isTransientSmtpError(temporary)).toBe(true);
    expect(describeSmtpError(temporary)).toMatch(/^451 .*Greylisted/);

    mail.rejectNext(1, 550, 'No such user');
    const permanent = await sendError(mailer, inbox.emailAddress);
    expect(isTransientSmtpError(permanent)).toBe(false);
    expect(describeSmtpError(permanent)).toMatch(/^550 .*No such user/);
    expect(mail.emails(inbox)).toEqual([]);
  });

  it('reports a server that is down as a transient connection error, and recovers when it is back', async () => {
    const inbox = mail.createInbox();
    await mail.stop();
    try {
      const error = await sendError(mailer, inbox.emailAddress);
      expect(isTransientSmtpError(error)).toBe(true);
      expect((error as { code?: string }).code).toMatch(/^E(CONNECTION|SOCKET)$/);
    } finally {
      await mail.start();
    }
    await mailer.send(message(inbox.emailAddress));
    expect(await mail.waitForEmails(inbox, 1, 5000)).toHaveLength(1);
  });
});

describe('SMTP transport with AUTH and STARTTLS', () => {
  let mail: InboxServer;
  beforeAll(async () => {
    mail = await startInboxServer({ auth: { user: 'mailer', pass: 's3cret pass' }, starttls: true });
  });
  afterAll(() => mail.close());

  it('upgrades with STARTTLS and authenticates with the credentials in SMTP_URL', async () => {
    // The loopback server has a self-signed certificate: the URL relaxes verification for it.
    const mailer = createMailer({
      smtpUrl: `${mail.url}?requireTLS=true&tls.rejectUnauthorized=false`,
      from: FROM,
      dataDir: tmpdir(),
    });
    try {
      const inbox = mail.createInbox();
      await mailer.send(message(inbox.emailAddress));
      const email = await mail.waitForLatestEmail(inbox, 5000);
      expect(email.secure).toBe(true);
      expect(email.authenticatedAs).toBe('mailer');
    } finally {
      await mailer.close();
    }
  });

  it('fails permanently on bad credentials (535)', async () => {
    const url = new URL(mail.url);
    url.password = 'wrong';
    const mailer = createMailer({
      smtpUrl: `${url.toString()}?tls.rejectUnauthorized=false`,
      from: FROM,
      dataDir: tmpdir(),
    });
    try {
      const error = await sendError(mailer, mail.createInbox().emailAddress);
      expect(describeSmtpError(error)).toMatch(/^535/);
      expect(isTransientSmtpError(error)).toBe(false);
    } finally {
      await mailer.close();
    }
  });
});

describe('.eml fallback (no SMTP_URL)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'conduit-mail-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('writes each email as an .eml file under DATA_DIR/mail and logs the file name', async () => {
    const lines: { details: Record<string, unknown>; message: string }[] = [];
    const mailer = createMailer({
      smtpUrl: undefined,
      from: FROM,
      dataDir,
      logger: { info: (details, text) => lines.push({ details, message: text }) },
    });
    expect(mailer.kind).toBe('file');
    const sent = await mailer.send(message('reader@example.com'));
    await mailer.close();

    const files = readdirSync(path.join(dataDir, 'mail'));
    expect(files).toHaveLength(1);
    const file = path.join(dataDir, 'mail', files[0] ?? '');
    expect(sent.file).toBe(file);
    expect(lines).toEqual([
      { details: expect.objectContaining({ file }), message: `email written to ${file}` },
    ]);
    const raw = readFileSync(file);
    expect(raw.toString()).toContain('List-Unsubscribe: <https://conduit.test/u?token=t>');
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe('Hello <there> & welcome');
    expect(parsed.messageId).toBe(sent.messageId);
    expect(parsed.to).toMatchObject({ text: 'reader@example.com' });
  });

  it('names the /dev/mail page of the email in the log line when given where the inbox is', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'conduit-mail-'));
    const lines: { details: Record<string, unknown>; message: string }[] = [];
    const mailer = createMailer({
      smtpUrl: undefined,
      from: FROM,
      dataDir: dir,
      browseUrl: 'http://127.0.0.1:3000/dev/mail',
      logger: { info: (details, text) => lines.push({ details, message: text }) },
    });
    try {
      const sent = await mailer.send(message('reader@example.com'));
      const id = path.basename(sent.file ?? '', '.eml');
      const url = `http://127.0.0.1:3000/dev/mail/${id}`;
      expect(lines).toEqual([
        {
          details: expect.objectContaining({ file: sent.file, url }),
          message: `email written to ${sent.file}; read it at ${url}`,
        },
      ]);
    } finally {
      await mailer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the Message-ID a caller gives', () => {
  it('is the one the SMTP server and the .eml file get, and the one reported back', async () => {
    const id = '<email-7.abc@conduit.test>';
    const mail = await startInboxServer();
    const smtp = createMailer({ smtpUrl: mail.url, from: FROM, dataDir: tmpdir() });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'conduit-mail-'));
    const file = createMailer({ smtpUrl: undefined, from: FROM, dataDir });
    try {
      const inbox = mail.createInbox();
      expect(await smtp.send({ ...message(inbox.emailAddress), messageId: id })).toEqual({ messageId: id });
      expect((await mail.waitForLatestEmail(inbox)).headers.get('message-id')).toBe(id);

      const written = await file.send({ ...message('reader@example.com'), messageId: id });
      expect(written.messageId).toBe(id);
      expect((await simpleParser(readFileSync(written.file ?? ''))).messageId).toBe(id);
    } finally {
      await smtp.close();
      await file.close();
      await mail.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('takes its domain from the From address (MAIL_FROM)', () => {
    expect(domainOf('Conduit <no-reply@Conduit.Example>')).toBe('conduit.example');
    expect(domainOf('bare@mail.example.org')).toBe('mail.example.org');
    expect(domainOf('Conduit')).toBeUndefined();
    expect(createMailer({ smtpUrl: undefined, from: FROM, dataDir: tmpdir() }).senderDomain).toBe(
      'conduit.test',
    );
    // Without one, APP_URL's host; the row's id and creation time make the local part.
    const row = { id: 42, createdAt: new Date(Date.UTC(2026, 0, 1)) };
    expect(emailMessageId(row, undefined, 'https://api.conduit.example/base')).toBe(
      `<email-42.${row.createdAt.getTime().toString(36)}@api.conduit.example>`,
    );
    expect(emailMessageId(row, 'conduit.test', 'https://api.conduit.example')).toMatch(/@conduit\.test>$/);
  });
});
