/** The part of autocannon 8's API the benchmark uses (the package ships no type definitions). */
declare module 'autocannon' {
  export interface Client {
    setBody(body: string): void;
  }
  export interface Request {
    method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Rewrites the request before each send (e.g. a new slug or title). */
    setupRequest?: (request: Request, context: Record<string, unknown>) => Request;
  }
  export interface Options {
    url: string;
    connections?: number;
    duration?: number;
    pipelining?: number;
    method?: Request['method'];
    headers?: Record<string, string>;
    body?: string;
    requests?: Request[];
    /** Stop after this many responses in all (duration still applies). */
    maxOverallRequests?: number;
  }
  export interface Histogram {
    average: number;
    mean: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
  }
  export interface Result {
    requests: Histogram & { total: number };
    latency: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    duration: number;
    statusCodeStats: Record<string, { count: number }>;
  }
  /** The running benchmark: awaitable for its result, and an event emitter while it runs. */
  export interface Instance extends PromiseLike<Result> {
    on(
      event: 'response',
      listener: (client: Client, statusCode: number, resBytes: number, responseTime: number) => void,
    ): this;
  }
  function autocannon(options: Options): Instance;

  // biome-ignore lint/style/noDefaultExport: the CommonJS module.exports is the default import
  export { autocannon as default };
}
