import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preValidationHookHandler,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import { NotFoundError } from '../errors.js';
import { ProblemSchema, sendProblem } from './errors.js';

/**
 * Text PostgreSQL cannot store: NUL (a `text` value refuses U+0000: the statement fails) and
 * unpaired UTF-16 surrogates (no UTF-8 form: the drivers would store U+FFFD instead of what the
 * client sent). In `u` mode a well-formed surrogate pair is one code point, so only lone ones match.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this refuses
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/** True when PostgreSQL stores `text` exactly as given. */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

const UNSTORABLE_MESSAGE = 'must not contain NUL characters or unpaired surrogates';
const INTEGER_MESSAGE = 'must be an integer';
/** A query or path integer is written in plain decimal: `Number()` would also take `1e2`, `0x10`, ` 5`, `Infinity`. */
const DECIMAL_INTEGER = /^-?\d+$/;

type Context = 'body' | 'querystring' | 'params';

interface Issue {
  instancePath: string;
  keyword: string;
  message: string;
  params: Record<string, unknown>;
}

/**
 * Shaped as Fastify's own validation error (`validation` + `validationContext`), so the one error
 * handler answers it as any other invalid field (422 naming it) and a route with its own handler
 * (the OAuth endpoints: 400 `invalid_request`, RFC 6749) treats it as it treats those.
 */
class InputValidationError extends Error {
  readonly code = 'FST_ERR_VALIDATION';
  readonly statusCode = 400;
  constructor(
    readonly validationContext: Context,
    readonly validation: Issue[],
  ) {
    super(validation.map((issue) => `${context(issue)} ${issue.message}`).join('; '));
  }
}

function context(issue: Issue): string {
  return issue.instancePath.split('/').filter(Boolean).at(-1) ?? 'body';
}

const pointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * JSON-pointer paths of every unstorable string (values and keys) in a parsed input. Walked with
 * an explicit stack: a deeply nested body must not overflow the call stack.
 */
function unstorablePaths(root: unknown): string[] {
  const found: string[] = [];
  const stack: Array<[unknown, string]> = [[root, '']];
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, string];
    if (typeof value === 'string') {
      if (!isStorableText(value)) found.push(path);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => {
        stack.push([item, `${path}/${index}`]);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const itemPath = `${path}/${pointer(key)}`;
        if (!isStorableText(key)) found.push(itemPath);
        else stack.push([item, itemPath]);
      }
    }
  }
  return found;
}

/** Names of the properties a route's query or params schema declares as integers. */
function integerFields(schema: unknown): string[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties;
  if (!properties) return [];
  return Object.entries(properties)
    .filter(([, property]) => {
      const type = property?.type;
      return type === 'integer' || (Array.isArray(type) && type.includes('integer'));
    })
    .map(([name]) => name);
}

function nonDecimalIntegers(input: unknown, fields: string[]): Issue[] {
  if (fields.length === 0 || input === null || typeof input !== 'object') return [];
  const issues: Issue[] = [];
  for (const field of fields) {
    const raw = (input as Record<string, unknown>)[field];
    const values = Array.isArray(raw) ? raw : [raw];
    if (values.some((value) => typeof value === 'string' && !DECIMAL_INTEGER.test(value))) {
      issues.push({
        instancePath: `/${pointer(field)}`,
        keyword: 'type',
        message: INTEGER_MESSAGE,
        params: {},
      });
    }
  }
  return issues;
}

/** Issues at the field that holds the text: `/article/tagList/1` and `/deep/0/0` name `tagList` and `deep`. */
const storableIssues = (paths: string[]): Issue[] =>
  paths.map((path) => ({
    instancePath: path.replace(/(\/\d+)+$/, ''),
    keyword: 'storable',
    message: UNSTORABLE_MESSAGE,
    params: {},
  }));

/** Checks one route's params, query and body before Ajv coerces them (preValidation). */
function inputCheck(route: RouteOptions): preValidationHookHandler {
  const schema = route.schema as { querystring?: unknown; params?: unknown } | undefined;
  const queryIntegers = integerFields(schema?.querystring);
  const paramIntegers = integerFields(schema?.params);
  return function checkInput(request: FastifyRequest, _reply, done) {
    // A path parameter holding such text names nothing that can exist.
    const badParam = unstorablePaths(request.params)[0];
    if (badParam !== undefined) {
      const name = badParam.split('/')[1] ?? 'resource';
      return done(new NotFoundError(name));
    }
    const paramIssues = nonDecimalIntegers(request.params, paramIntegers);
    if (paramIssues.length > 0) return done(new InputValidationError('params', paramIssues));
    const queryIssues = [
      ...storableIssues(unstorablePaths(request.query)),
      ...nonDecimalIntegers(request.query, queryIntegers),
    ];
    if (queryIssues.length > 0) return done(new InputValidationError('querystring', queryIssues));
    const bodyIssues = storableIssues(unstorablePaths(request.body));
    if (bodyIssues.length > 0) return done(new InputValidationError('body', bodyIssues));
    done();
  };
}

function asArray<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

/** An error response as documented on a route that produces no JSON (the pages for people). */
const PROBLEM_CONTENT = { content: { 'application/problem+json': { schema: ProblemSchema } } };

/**
 * The responses a route documents, with what bad input answers: 422 (unless the route answers bad
 * input with a documented 400 of its own, as the OAuth endpoints do, RFC 6749), 404 with path
 * parameters, 400 and 413 with a body (not JSON, too large). A route whose pages are HTML
 * documents its errors as the problem+json they are.
 */
function documentedResponses(
  route: RouteOptions,
  response: Record<string, unknown>,
): Record<string, unknown> {
  const schema = route.schema as { body?: unknown; produces?: string[] };
  const documented: Record<string, unknown> = { ...response };
  const added: string[] = [];
  if (!('400' in documented) && !('422' in documented)) added.push('422');
  if (route.url.includes(':') && !('404' in documented)) added.push('404');
  if (schema.body !== undefined) added.push(...['400', '413'].filter((status) => !(status in documented)));
  const html = schema.produces !== undefined && !schema.produces.some((type) => type.includes('json'));
  for (const status of added) documented[status] = ProblemSchema;
  if (html) {
    for (const [status, value] of Object.entries(documented)) {
      if (value === ProblemSchema) documented[status] = PROBLEM_CONTENT;
    }
  }
  return documented;
}

/**
 * Fastify's `frameworkErrors` (set in app.ts): a path whose escapes do not decode, or with a
 * parameter longer than any stored value, names nothing that exists: a 404 like any unknown
 * resource, in the problem+json shape of every other error (Fastify's default is a 400 or 414
 * in a shape of its own).
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendProblem(reply, request, 404, 'No resource has this path');
    return;
  }
  request.log.error({ err: error }, 'framework error');
  sendProblem(reply, request, 500, 'An unexpected error occurred');
}

/**
 * Every route, present and future (registered after this plugin), refuses input PostgreSQL cannot
 * store and integers not written in decimal, before validation: 422 naming the field (404 for a
 * path parameter). Its documented responses say so (documentedResponses).
 */
export const inputPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onRoute', (route) => {
      route.preValidation = [inputCheck(route), ...asArray(route.preValidation)];
      const response = (route.schema as { response?: Record<string, unknown> } | undefined)?.response;
      // A copy: routes may share one response object.
      if (response) route.schema = { ...route.schema, response: documentedResponses(route, response) };
    });
  },
  { name: 'input', dependencies: ['errors'] },
);
