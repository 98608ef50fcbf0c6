import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy between a process under test and a shared service (PostgreSQL, PgBouncer, Redis), to
 * play the outages a test must never cause on the server others use: `refuse` (down, restarting:
 * connections refused, open ones cut) and `blackhole` (a dead host or network: connections
 * accepted, nothing answers).
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private mode: 'forward' | 'blackhole' = 'forward';
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** The target URL with the proxy as its host. */
  urlFor(targetUrl: string): string {
    const url = new URL(targetUrl);
    url.host = `127.0.0.1:${this.port}`;
    return url.toString();
  }

  async start(): Promise<void> {
    this.mode = 'forward';
    if (this.server) return;
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.server = server;
  }

  private accept(client: Socket): void {
    this.track(client);
    client.on('error', () => client.destroy());
    if (this.mode === 'blackhole') return;
    const upstream = new Socket();
    this.track(upstream);
    upstream.connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private cutAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Refuses new connections and cuts the open ones, like the service restarting. */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cutAll();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Cuts the open connections and accepts new ones that never get an answer. */
  async blackhole(): Promise<void> {
    await this.start();
    this.mode = 'blackhole';
    this.cutAll();
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}

/** A proxy to the host and port of a service URL (`redis://…`, `postgres://…`). */
export function proxyTo(serviceUrl: string, defaultPort = 6379): TcpProxy {
  const url = new URL(serviceUrl);
  return new TcpProxy({ host: url.hostname, port: Number(url.port || defaultPort) });
}
