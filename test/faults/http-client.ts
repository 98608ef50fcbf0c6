import { once } from 'node:events';
import { Socket } from 'node:net';

/**
 * A request written by hand on its own keep-alive connection, so a test decides when it is in
 * flight: the headers go out at once, the body only when `finish()` is called (until then the
 * server holds an unfinished request, as with a slow upload).
 */
export class HeldRequest {
  private readonly socket = new Socket();
  private received = '';
  private readonly answered: Promise<number>;

  private constructor(private readonly body: string) {
    this.socket.on('data', (chunk: Buffer) => {
      this.received += chunk.toString();
    });
    this.answered = new Promise((resolve, reject) => {
      const check = () => {
        // The final answer, after the `100 Continue` that says the request is in the server's hands.
        const status = /^HTTP\/1\.1 ([2-5]\d\d)/m.exec(this.received)?.[1];
        if (status) resolve(Number(status));
      };
      this.socket.on('data', check);
      this.socket.on('close', () =>
        reject(new Error(`connection closed without an answer: ${this.received}`)),
      );
      this.socket.on('error', () => {});
    });
    this.answered.catch(() => {});
  }

  /**
   * Connects, sends the headers (with `Expect: 100-continue`) and the first byte of a JSON body,
   * and resolves once the server has answered `100 Continue`: the request is then in flight.
   */
  static async open(port: number, path: string, json: unknown): Promise<HeldRequest> {
    const body = JSON.stringify(json);
    const head =
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      'Expect: 100-continue\r\n\r\n';
    const request = new HeldRequest(body);
    request.socket.connect(port, '127.0.0.1');
    await once(request.socket, 'connect');
    request.socket.write(head);
    while (!/^HTTP\/1\.1 100 /.test(request.received)) await once(request.socket, 'data');
    request.socket.write(body.slice(0, 1));
    return request;
  }

  /** Sends the rest of the body; resolves with the response status. */
  finish(): Promise<number> {
    this.socket.write(this.body.slice(1));
    return this.answered;
  }

  /** Resolves once the server has closed this connection. */
  async closed(): Promise<void> {
    if (this.socket.closed) return;
    await once(this.socket, 'close');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Whether a new TCP connection to the port is accepted. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

/** Whether a process id is still running. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
