/** Concurrent clients against a running server, recording every answer, for the fault tests. */

export interface Answer {
  path: string;
  /** 0: no HTTP answer at all (connection refused or reset: the process died). */
  status: number;
  ms: number;
  retryAfter: string | null;
  contentType: string | null;
}

export interface Session {
  baseUrl: string;
  token: string;
  slug: string;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export async function request(
  baseUrl: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<Answer & { body: unknown }> {
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.body === undefined ? {} : JSON_HEADERS),
        ...(init.token ? { authorization: `Token ${init.token}` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return {
      path,
      status: response.status,
      ms: performance.now() - started,
      retryAfter: response.headers.get('retry-after'),
      contentType: response.headers.get('content-type'),
      body: text ? JSON.parse(text) : undefined,
    };
  } catch {
    return {
      path,
      status: 0,
      ms: performance.now() - started,
      retryAfter: null,
      contentType: null,
      body: null,
    };
  }
}

/** A user with a token and one article, through the API itself. */
export async function createSession(baseUrl: string): Promise<Session> {
  const name = `fault${Date.now().toString(36)}`;
  const user = await request(baseUrl, '/api/users', {
    method: 'POST',
    body: { user: { username: name, email: `${name}@example.com`, password: 'a-long-password-1' } },
  });
  const token = (user.body as { user: { token: string } }).user.token;
  const article = await request(baseUrl, '/api/articles', {
    method: 'POST',
    token,
    body: { article: { title: `Fault ${name}`, description: 'd', body: 'b', tagList: ['faults'] } },
  });
  return { baseUrl, token, slug: (article.body as { article: { slug: string } }).article.slug };
}

let counter = 0;

/** One request of the mix: a list, the viewer lookup, a write in a transaction, a favorite. */
export function mixedRequest(session: Session, index: number): Promise<Answer> {
  const { baseUrl, token, slug } = session;
  switch (index % 4) {
    case 0:
      return request(baseUrl, '/api/articles?limit=5');
    case 1:
      return request(baseUrl, '/api/user', { token });
    case 2:
      counter += 1;
      return request(baseUrl, '/api/articles', {
        method: 'POST',
        token,
        body: {
          article: { title: `Load ${Date.now()} ${counter}`, description: 'd', body: 'b', tagList: ['load'] },
        },
      });
    default:
      return request(baseUrl, `/api/articles/${slug}/favorite`, { method: 'POST', token });
  }
}

/** `clients` loops of mixed requests until `stop()`, which resolves with every answer. */
export function startLoad(session: Session, clients: number): { stop(): Promise<Answer[]> } {
  const answers: Answer[] = [];
  let running = true;
  const loops = Array.from({ length: clients }, async (_, client) => {
    let index = client;
    while (running) {
      answers.push(await mixedRequest(session, index));
      index += 1;
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}
