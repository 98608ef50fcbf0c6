import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/app.js';

/**
 * Every content operation of the RealWorld spec (v1.1.0) exists in our OpenAPI document with at
 * least the statuses the spec lists (the HTTP suites next to this file exercise each of them).
 */

const SPEC = new URL('../../fixtures/realworld-openapi.yml', import.meta.url);
const CONTENT_PATHS = /^\/(profiles|articles|tags)\b/;
/** Statuses the spec lists that cannot happen here, with the reason. */
const NOT_APPLICABLE: Record<string, number[]> = {
  // No parameters, no body: nothing to validate.
  'get /tags': [422],
};

/** The spec's layout is regular: 2-space path keys, 4-space methods, 8-space quoted statuses. */
function specOperations(): { method: string; path: string; statuses: number[] }[] {
  const operations: { method: string; path: string; statuses: number[] }[] = [];
  let path: string | undefined;
  let inPaths = false;
  for (const line of readFileSync(SPEC, 'utf8').split('\n')) {
    if (/^\S/.test(line)) inPaths = line.startsWith('paths:');
    if (!inPaths) continue;
    const pathMatch = /^ {2}(\/\S+):$/.exec(line);
    if (pathMatch) path = pathMatch[1];
    const methodMatch = /^ {4}(get|post|put|delete):$/.exec(line);
    if (methodMatch?.[1] && path)
      operations.push({ method: methodMatch[1], path: `/api${path}`, statuses: [] });
    const statusMatch = /^ {8}'(\d{3})':$/.exec(line);
    if (statusMatch) operations.at(-1)?.statuses.push(Number(statusMatch[1]));
  }
  return operations.filter((operation) => CONTENT_PATHS.test(operation.path.slice(4)));
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('RealWorld spec conformance', () => {
  const operations = specOperations();

  it('finds the content operations in the spec', () => {
    expect(operations.length).toBe(15);
  });

  it.each(operations)(
    'documents $method $path with the statuses of the spec',
    async ({ method, path, statuses }) => {
      const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      const skip = NOT_APPLICABLE[`${method} ${path.slice(4)}`] ?? [];
      const expected = statuses.filter((status) => !skip.includes(status)).map(String);
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(expected));
      const signInRequired = !['get'].includes(method) || path.endsWith('/feed');
      if (signInRequired) expect(operation.security).toEqual([{ Token: [] }, { OAuth2: [] }]);
    },
  );
});
