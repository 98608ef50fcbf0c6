import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/**
 * Temporary inboxes for tests (the MailSlurp role, offline): a real SMTP server on loopback that
 * parses what it receives with mailparser and files each message under every recipient.
 *
 *   const mail = await startInboxServer();          // SMTP_URL: mail.url
 *   const inbox = mail.createInbox();               // a unique address
 *   const email = await mail.waitForLatestEmail(inbox, 5000);
 *
 * It can also misbehave on purpose: answer 4xx/5xx (`rejectNext`) or go down and come back on
 * the same port (`stop` / `start`), for retry tests.
 */

export interface Inbox {
  id: string;
  emailAddress: string;
}

export interface ReceivedEmail {
  to: string[];
  /** The sender's address (the display name is in `parsed.from`). */
  from: string;
  subject: string;
  text: string;
  html: string;
  /** Header name (lower case) → value as sent (unfolded). */
  headers: Map<string, string>;
  /** Every http(s) link in the text part, in order. */
  links: string[];
  /** What the client authenticated as, if it did. */
  authenticatedAs: string | undefined;
  /** Whether the session ran over TLS (STARTTLS). */
  secure: boolean;
  parsed: ParsedMail;
}

export interface InboxServerOptions {
  /** Require AUTH PLAIN/LOGIN with these credentials. */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS (built-in self-signed certificate; clients must not verify it). */
  starttls?: boolean;
}

export interface InboxServer {
  readonly port: number;
  /** `smtp://127.0.0.1:<port>` (with the credentials when auth is required). */
  readonly url: string;
  createInbox(): Inbox;
  /** Everything delivered to the inbox so far, oldest first. */
  emails(inbox: Inbox): ReceivedEmail[];
  /** The newest email not returned by a previous wait; waits for one to arrive. */
  waitForLatestEmail(inbox: Inbox, timeoutMs?: number): Promise<ReceivedEmail>;
  /** Resolves once the inbox holds at least `count` emails, with all of them. */
  waitForEmails(inbox: Inbox, count: number, timeoutMs?: number): Promise<ReceivedEmail[]>;
  /** The next `times` recipients are refused with this SMTP reply code (450 temporary, 550 permanent). */
  rejectNext(times: number, code: number, message?: string): void;
  /**
   * A slow relay: each refusal of `rejectNext`, and each accepted message's final reply, comes
   * this long late. An accepted message is filed before the wait, so a client that dies meanwhile
   * leaves a delivered message it never saw accepted. 0 answers at once again.
   */
  delayReplies(ms: number): void;
  /** Stops listening and drops open connections: clients see connection errors. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

const DOMAIN = 'inbox.test';

export async function startInboxServer(options: InboxServerOptions = {}): Promise<InboxServer> {
  const byAddress = new Map<string, ReceivedEmail[]>();
  const returned = new Map<string, number>();
  const waiters = new Set<() => void>();
  const rejections: { code: number; message: string }[] = [];
  let replyDelayMs = 0;
  const later = (reply: () => void) => {
    if (replyDelayMs > 0) setTimeout(reply, replyDelayMs);
    else reply();
  };

  const notify = () => {
    for (const waiter of waiters) waiter();
  };

  const serverOptions: SMTPServerOptions = {
    logger: false,
    disabledCommands: [...(options.starttls ? [] : ['STARTTLS']), ...(options.auth ? [] : ['AUTH'])],
    authOptional: !options.auth,
    // Plain-text AUTH is fine on loopback.
    allowInsecureAuth: true,
    size: 10 * 1024 * 1024,
    closeTimeout: 100,
    onAuth(auth, _session, callback) {
      const expected = options.auth;
      if (expected && auth.username === expected.user && auth.password === expected.pass) {
        callback(null, { user: auth.username });
      } else {
        callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      }
    },
    onRcptTo(_address, _session, callback) {
      const rejection = rejections.shift();
      if (rejection) {
        later(() => callback(Object.assign(new Error(rejection.message), { responseCode: rejection.code })));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase());
          const headers = new Map<string, string>();
          for (const line of parsed.headerLines) {
            headers.set(
              line.key,
              line.line
                .slice(line.line.indexOf(':') + 1)
                .replace(/\r?\n\s+/g, ' ')
                .trim(),
            );
          }
          const text = parsed.text ?? '';
          const email: ReceivedEmail = {
            to: recipients,
            from: parsed.from?.value[0]?.address ?? '',
            subject: parsed.subject ?? '',
            text,
            html: typeof parsed.html === 'string' ? parsed.html : '',
            headers,
            links: text.match(/https?:\/\/[^\s<>"]+/g) ?? [],
            authenticatedAs:
              typeof session.user === 'string'
                ? session.user
                : session.user
                  ? String(session.user)
                  : undefined,
            secure: session.secure,
            parsed,
          };
          for (const address of recipients) {
            const list = byAddress.get(address) ?? [];
            list.push(email);
            byAddress.set(address, list);
          }
          notify();
          later(() => callback());
        })
        .catch((error: Error) => callback(error));
    },
  };

  let server = new SMTPServer(serverOptions);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.server.address() as AddressInfo).port);
      });
    });
  const port = await listen(0);
  let listening = true;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
    });

  const wait = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const attempt = () => {
        const result = check();
        if (result === undefined) return false;
        cleanup();
        resolve(result);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      const waiter = () => {
        attempt();
      };
      waiters.add(waiter);
      attempt();
    });

  const credentials = options.auth
    ? `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.pass)}@`
    : '';

  return {
    port,
    url: `smtp://${credentials}127.0.0.1:${port}`,
    createInbox: () => {
      const id = randomBytes(8).toString('hex');
      return { id, emailAddress: `${id}@${DOMAIN}` };
    },
    emails: (inbox) => [...(byAddress.get(inbox.emailAddress) ?? [])],
    waitForLatestEmail: (inbox, timeoutMs = 5000) =>
      wait(
        () => {
          const list = byAddress.get(inbox.emailAddress) ?? [];
          if (list.length <= (returned.get(inbox.emailAddress) ?? 0)) return undefined;
          returned.set(inbox.emailAddress, list.length);
          return list.at(-1);
        },
        timeoutMs,
        `new email for ${inbox.emailAddress}`,
      ),
    waitForEmails: (inbox, count, timeoutMs = 5000) =>
      wait(
        () => {
          const list = byAddress.get(inbox.emailAddress) ?? [];
          return list.length >= count ? [...list] : undefined;
        },
        timeoutMs,
        `${count} emails for ${inbox.emailAddress}`,
      ),
    rejectNext: (times, code, message = code >= 500 ? 'Mailbox unavailable' : 'Try again later') => {
      for (let i = 0; i < times; i++) rejections.push({ code, message });
    },
    delayReplies: (ms) => {
      replyDelayMs = ms;
    },
    stop,
    start: async () => {
      if (listening) return;
      server = new SMTPServer(serverOptions);
      await listen(port);
      listening = true;
    },
    close: stop,
  };
}
