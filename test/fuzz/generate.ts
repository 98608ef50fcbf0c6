import fc from 'fast-check';

/** The subset of JSON Schema (OpenAPI 3.1) the app's documents use. */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

export interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

/** Values that exist, so that paths also reach real resources (slug → article slugs, …). */
export type Pools = Record<string, ReadonlyArray<string | number>>;

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** Which auth the request carries: `none`, `user`, `admin` or `garbage`. */
  auth: 'none' | 'user' | 'admin' | 'garbage';
}

/** Strings that broke or could break something: NUL, lone surrogates, numbers that are not, injection shapes. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '😀',
  '\u202e\u200b',
  "' OR 1=1 --",
  '%00',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '1e309',
  'Infinity',
  '-Infinity',
  'NaN',
  '0x10',
  '1e2',
  ' 5',
  '-1',
  '99999999999999999999999',
  'null',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
];

const HUGE = 'x'.repeat(70_000);

function typesOf(schema: Schema): string[] {
  if (schema.type === undefined) return schema.properties ? ['object'] : [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

function validString(schema: Schema, pool: ReadonlyArray<string | number> | undefined): fc.Arbitrary<string> {
  const choices: Array<fc.WeightedArbitrary<string>> = [];
  if (pool && pool.length > 0) choices.push({ arbitrary: fc.constantFrom(...pool.map(String)), weight: 4 });
  const maxLength = Math.min(schema.maxLength ?? 40, 40);
  const minLength = Math.min(schema.minLength ?? 0, maxLength);
  switch (schema.format) {
    case 'date-time':
      choices.push({
        arbitrary: fc
          .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
          .map((date) => date.toISOString()),
        weight: 3,
      });
      break;
    case 'email':
      choices.push({ arbitrary: fc.emailAddress().filter((email) => email.length <= 254), weight: 3 });
      break;
    case 'uri':
      choices.push({ arbitrary: fc.webUrl(), weight: 3 });
      break;
    default:
      if (schema.pattern) {
        choices.push({ arbitrary: fc.stringMatching(new RegExp(schema.pattern)), weight: 3 });
      } else {
        choices.push({ arbitrary: fc.string({ minLength, maxLength, unit: 'grapheme' }), weight: 3 });
      }
  }
  return fc.oneof(...choices);
}

function boundaryString(schema: Schema): fc.Arbitrary<string> {
  const lengths = [0, 1, schema.minLength, schema.maxLength, (schema.maxLength ?? 255) + 1].filter(
    (length): length is number => length !== undefined && length >= 0 && length <= 70_000,
  );
  return fc.constantFrom(...lengths).map((length) => 'é'.repeat(length));
}

function integerArb(
  schema: Schema,
  pool: ReadonlyArray<string | number> | undefined,
  hostile: boolean,
): fc.Arbitrary<number> {
  const min = schema.minimum ?? -(2 ** 31);
  const max = schema.maximum ?? 2 ** 31 - 1;
  const choices: Array<fc.WeightedArbitrary<number>> = [
    { arbitrary: fc.integer({ min, max }), weight: 3 },
    {
      arbitrary: hostile
        ? fc.constantFrom(min, max, min - 1, max + 1, 0, -1, 2 ** 31, 2 ** 53)
        : fc.constantFrom(min, max),
      weight: 2,
    },
  ];
  const numbers = pool?.filter((value): value is number => typeof value === 'number') ?? [];
  if (numbers.length > 0) choices.push({ arbitrary: fc.constantFrom(...numbers), weight: 4 });
  return fc.oneof(...choices);
}

/** Any value of another kind than the schema asks for. */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom([], {}, [1, 'a'], { nested: { deep: [null] } }),
  fc.constantFrom(...HOSTILE_STRINGS),
);

/**
 * A value for `schema`. Hostile (the default): at any depth sometimes a boundary, a hostile string,
 * huge, or of the wrong type. Not hostile: valid all the way down, so that requests also get past
 * validation and reach the services and the database.
 */
export function arbitraryFor(
  schema: Schema,
  pools: Pools,
  name = '',
  depth = 0,
  hostile = true,
): fc.Arbitrary<unknown> {
  const pool = pools[name];
  const mutations: Array<fc.WeightedArbitrary<unknown>> = hostile
    ? [
        { arbitrary: fc.constantFrom(...HOSTILE_STRINGS), weight: 2 },
        { arbitrary: wrongType, weight: 1 },
        { arbitrary: fc.constant(HUGE), weight: 1 },
      ]
    : [];
  if (schema.enum) return fc.oneof({ arbitrary: fc.constantFrom(...schema.enum), weight: 8 }, ...mutations);
  if (schema.const !== undefined)
    return fc.oneof({ arbitrary: fc.constant(schema.const), weight: 8 }, ...mutations);
  if (schema.anyOf && schema.anyOf.length > 0) {
    return fc.oneof(...schema.anyOf.map((option) => arbitraryFor(option, pools, name, depth, hostile)));
  }
  const valid: Array<fc.WeightedArbitrary<unknown>> = [];
  for (const type of typesOf(schema)) {
    if (type === 'string') {
      valid.push({ arbitrary: validString(schema, pool), weight: 6 });
      if (hostile) valid.push({ arbitrary: boundaryString(schema), weight: 1 });
    } else if (type === 'integer') valid.push({ arbitrary: integerArb(schema, pool, hostile), weight: 6 });
    else if (type === 'number') valid.push({ arbitrary: fc.double({ noNaN: true }), weight: 6 });
    else if (type === 'boolean') valid.push({ arbitrary: fc.boolean(), weight: 6 });
    else if (type === 'null') valid.push({ arbitrary: fc.constant(null), weight: 1 });
    else if (type === 'array' && depth < 6) {
      const items = schema.items ?? {};
      valid.push({
        arbitrary: fc.array(arbitraryFor(items, pools, name, depth + 1, hostile), {
          maxLength: hostile ? (schema.maxItems ?? 5) + 1 : Math.min(schema.maxItems ?? 5, 5),
        }),
        weight: 6,
      });
    } else if (type === 'object' && depth < 6)
      valid.push({ arbitrary: objectOf(schema, pools, depth + 1, hostile), weight: 8 });
  }
  if (valid.length === 0) return fc.oneof(...mutations, { arbitrary: fc.string(), weight: 2 });
  return fc.oneof(...valid, ...mutations);
}

/** An object for `schema`: required fields sometimes missing, optional ones sometimes there, extras sometimes. */
function objectOf(
  schema: Schema,
  pools: Pools,
  depth: number,
  hostile: boolean,
): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const fields = Object.entries(properties).map(([key, property]) =>
    fc.tuple(
      fc.constant(key),
      arbitraryFor(property, pools, key, depth, hostile),
      // Present: required ones 95 % (always when not hostile), optional ones 60 %.
      fc.integer({ min: 0, max: 99 }).map((roll) => roll < (required.has(key) ? (hostile ? 95 : 100) : 60)),
    ),
  );
  const extra = fc
    .option(fc.tuple(fc.constantFrom('extra', '__proto__', 'id', 'role', 'a\u0000'), wrongType), {
      freq: 8,
    })
    .map((field) => (hostile ? field : null));
  return fc.tuple(fc.tuple(...fields), extra).map(([entries, extraField]) => {
    const object: Record<string, unknown> = {};
    for (const [key, value, present] of entries) if (present) object[key] = value;
    if (extraField) Object.defineProperty(object, extraField[0], { value: extraField[1], enumerable: true });
    return object;
  });
}

/** What goes on the wire for a parameter value (query and path are strings). */
function wireString(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

function encode(value: string): string {
  // encodeURIComponent refuses lone surrogates; their UTF-8-less form goes as the bytes of U+FFFD.
  return encodeURIComponent(value.replace(/\p{Cs}/gu, '\ufffd'));
}

/** Percent-escapes that decode to bytes that are not UTF-8, or that are not escapes at all. */
const RAW_ESCAPES = ['%FF', '%C3%28', '%ED%A0%80', '%00', '%', '%zz'];

function formEncode(body: unknown): string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return wireString(body);
  return Object.entries(body)
    .map(([key, value]) => `${encode(key)}=${encode(wireString(value))}`)
    .join('&');
}

const bodyKinds = fc.constantFrom(
  ...['schema', 'schema', 'schema', 'schema', 'schema', 'schema'],
  ...['malformed', 'non-utf8', 'empty', 'missing', 'deep'],
);

/** One request for `operation`, every part drawn from its documented schemas. */
export function requestOf(operation: Operation, pools: Pools): fc.Arbitrary<FuzzRequest> {
  const pathParams = operation.parameters.filter((p) => p.in === 'path');
  const queryParams = operation.parameters.filter((p) => p.in === 'query');
  const pathArb = fc.tuple(
    ...pathParams.map((p) =>
      fc.oneof(
        {
          // An empty segment is another route (`/api/articles/` is the list), not this operation.
          arbitrary: fc
            .boolean()
            .chain((hostile) => arbitraryFor(p.schema ?? { type: 'string' }, pools, p.name, 0, hostile))
            .map((v) => encode(wireString(v)))
            .filter((segment) => segment !== ''),
          weight: 9,
        },
        { arbitrary: fc.constantFrom(...RAW_ESCAPES), weight: 1 },
      ),
    ),
  );
  const queryArb = fc.tuple(
    ...queryParams.map((p) =>
      fc.option(
        fc.oneof(
          {
            arbitrary: fc
              .boolean()
              .chain((hostile) => arbitraryFor(p.schema ?? { type: 'string' }, pools, p.name, 0, hostile))
              .map((v) => encode(wireString(v))),
            weight: 9,
          },
          { arbitrary: fc.constantFrom(...RAW_ESCAPES), weight: 1 },
        ),
        { freq: p.required ? 10 : 2 },
      ),
    ),
  );
  const contentTypes = Object.keys(operation.body?.content ?? {});
  const bodyArb =
    contentTypes.length === 0
      ? // What some clients send on a body-less route (one in ten): the JSON content type with nothing.
        fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 9 },
          {
            arbitrary: fc.constant({ type: 'application/json', kind: 'empty', value: undefined as unknown }),
            weight: 1,
          },
        )
      : fc.tuple(fc.constantFrom(...contentTypes), bodyKinds).chain(([type, kind]) => {
          const schema = operation.body?.content[type]?.schema ?? {};
          return fc
            .boolean()
            .chain((hostile) => arbitraryFor(schema, pools, '', 0, hostile))
            .map((value) => ({ type, kind, value }));
        });
  const authArb = fc.constantFrom<FuzzRequest['auth']>(
    'none',
    'none',
    'user',
    'user',
    'user',
    'admin',
    'garbage',
  );
  // Headers the app reads besides auth: conditional GETs, content negotiation, request ids.
  const extraHeadersArb = fc.record(
    {
      'if-none-match': fc.constantFrom('*', '"abc"', 'W/"x"', 'garbage', ''),
      accept: fc.constantFrom('text/html', 'application/xml', '*/*', 'application/json;q=0', 'garbage'),
      'x-request-id': fc.constantFrom('fuzz-1', 'a b', 'x'.repeat(300), ''),
    },
    { requiredKeys: [] },
  );
  return fc
    .tuple(pathArb, queryArb, bodyArb, authArb, extraHeadersArb)
    .map(([pathValues, queryValues, body, auth, extraHeaders]) => {
      let url = operation.path;
      pathParams.forEach((p, i) => {
        url = url.replace(`{${p.name}}`, pathValues[i] ?? '');
      });
      const query = queryParams
        .map((p, i) =>
          queryValues[i] === null || queryValues[i] === undefined ? undefined : `${p.name}=${queryValues[i]}`,
        )
        .filter((part) => part !== undefined);
      if (query.length > 0) url += `?${query.join('&')}`;
      const headers: Record<string, string> = { ...extraHeaders };
      let payload: string | Buffer | undefined;
      if (body && body.kind !== 'missing') {
        headers['content-type'] = body.type;
        const form = body.type === 'application/x-www-form-urlencoded';
        if (body.kind === 'malformed') payload = form ? 'a=%&b' : '{"user": {"email": ';
        else if (body.kind === 'empty') payload = '';
        else if (body.kind === 'deep') {
          // Nesting deep enough to overflow any recursive walk of the parsed body.
          const inner = `${'['.repeat(50_000)}"\\u0000"${']'.repeat(50_000)}`;
          payload = form ? `a=${inner}` : `{"deep":${inner}}`;
        } else if (body.kind === 'non-utf8') {
          const text = form ? formEncode(body.value) : (JSON.stringify(body.value) ?? 'null');
          // Bytes that are not UTF-8 inside the first string value (or at the start).
          const at = Math.max(text.indexOf('"', text.indexOf(':') + 1) + 1, 0);
          payload = Buffer.concat([
            Buffer.from(text.slice(0, at)),
            Buffer.from([0xff, 0xc3, 0x28]),
            Buffer.from(text.slice(at)),
          ]);
        } else payload = form ? formEncode(body.value) : (JSON.stringify(body.value) ?? 'null');
      }
      return { method: operation.method.toUpperCase(), url, headers, payload, auth };
    });
}
