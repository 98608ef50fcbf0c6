import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTransport } from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  headers?: Record<string, string>;
  /** `<local@domain>`: set by the caller so every attempt of one email carries the same id. */
  messageId?: string;
}

export interface SentEmail {
  /** The Message-ID the transport gave the message (what the email log stores). */
  messageId: string;
  /** `.eml` fallback only: where the message was written. */
  file?: string;
}

/** The one door to the outside mail world; the rest of the code never sees nodemailer. */
export interface Mailer {
  readonly kind: 'smtp' | 'file';
  /** The domain of the From address (MAIL_FROM), when it has one: the right side of Message-IDs. */
  readonly senderDomain: string | undefined;
  send(email: OutgoingEmail): Promise<SentEmail>;
  close(): Promise<void>;
}

export interface MailerLogger {
  info(details: Record<string, unknown>, message: string): void;
}

export interface MailerOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when offered; `?requireTLS=true` insists) or `smtps://…:465`. */
  smtpUrl: string | undefined;
  from: string;
  /** `.eml` files go to `dataDir/mail` when there is no SMTP_URL. */
  dataDir: string;
  /** Where the written emails can be read in a browser (`APP_URL/dev/mail`, outside production). */
  browseUrl?: string | undefined;
  logger?: MailerLogger;
  /** Milliseconds; defaults suit a real relay, tests shorten them. */
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
  maxConnections?: number;
}

/** `Conduit <no-reply@conduit.example>` → `conduit.example`; undefined without an address. */
export function domainOf(from: string): string | undefined {
  const [first] = addressparser(from, { flatten: true });
  const at = first?.address.lastIndexOf('@') ?? -1;
  const domain = at >= 0 ? first?.address.slice(at + 1).toLowerCase() : undefined;
  return domain || undefined;
}

export function createMailer(options: MailerOptions): Mailer {
  return options.smtpUrl
    ? createSmtpMailer({ ...options, smtpUrl: options.smtpUrl })
    : createFileMailer(options);
}

function createSmtpMailer(options: MailerOptions & { smtpUrl: string }): Mailer {
  // nodemailer parses the URL (host, port, user:pass, smtps → implicit TLS, query options such as
  // requireTLS); the object's other keys apply where the URL is silent.
  const transport = createTransport(
    {
      url: options.smtpUrl,
      pool: true,
      maxConnections: options.maxConnections ?? 5,
      maxMessages: 100,
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      greetingTimeout: options.greetingTimeoutMs ?? 10_000,
      socketTimeout: options.socketTimeoutMs ?? 30_000,
      disableFileAccess: true,
      disableUrlAccess: true,
    },
    { from: options.from },
  );
  return {
    kind: 'smtp',
    senderDomain: domainOf(options.from),
    send: async (email) => {
      const info = await transport.sendMail(email);
      return { messageId: info.messageId };
    },
    close: async () => {
      transport.close();
    },
  };
}

function createFileMailer(options: MailerOptions): Mailer {
  const directory = path.join(options.dataDir, 'mail');
  const transport = createTransport(
    { streamTransport: true, buffer: true, newline: 'unix', disableFileAccess: true, disableUrlAccess: true },
    { from: options.from },
  );
  return {
    kind: 'file',
    senderDomain: domainOf(options.from),
    send: async (email) => {
      const info = await transport.sendMail(email);
      await mkdir(directory, { recursive: true });
      // Sortable by time, unique across processes sharing the directory.
      const name = `${new Date().toISOString().replaceAll(':', '-')}-${randomBytes(4).toString('hex')}.eml`;
      const file = path.join(directory, name);
      await writeFile(file, info.message, { mode: 0o600 });
      // The link is what a newcomer needs: the file's links are quoted-printable, hard to copy.
      const url = options.browseUrl && `${options.browseUrl}/${name.slice(0, -'.eml'.length)}`;
      options.logger?.info(
        { file, subject: email.subject, ...(url ? { url } : {}) },
        url ? `email written to ${file}; read it at ${url}` : `email written to ${file}`,
      );
      return { messageId: info.messageId, file };
    },
    close: async () => {
      transport.close();
    },
  };
}
