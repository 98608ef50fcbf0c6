import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import type { Operation, Parameter, Schema } from './generate.js';

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, Omit<Operation, 'method' | 'path'> & { requestBody?: Operation['body'] }>
  >;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);

/** Every operation of the document, in document order. */
export function operationsOf(document: unknown): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries((document as OpenApiDocument).paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      operations.push({
        method,
        path,
        parameters: (operation.parameters ?? []) as Parameter[],
        body: operation.requestBody,
        responses: operation.responses ?? {},
      });
    }
  }
  return operations;
}

// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;

/** Checks responses against the schemas documented for their status and content type. */
export class ResponseChecker {
  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  private readonly compiled = new Map<Schema, ValidateFunction>();

  /** Why this response breaks the contract of `operation`, or undefined when it keeps it. */
  problem(
    operation: Operation,
    response: { statusCode: number; headers: Record<string, unknown>; body: string },
  ): string | undefined {
    const { statusCode } = response;
    if (statusCode >= 500) return `answered ${statusCode}`;
    const documented =
      operation.responses[String(statusCode)] ?? operation.responses[`${String(statusCode)[0]}XX`];
    if (!documented)
      return `status ${statusCode} is not documented (${Object.keys(operation.responses).join(', ')})`;
    const contents = documented.content;
    if (!contents || Object.keys(contents).length === 0) {
      return response.body === '' ? undefined : `status ${statusCode} documents no body but one came`;
    }
    const mediaType = String(response.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim();
    const content =
      contents[mediaType ?? ''] ??
      // A problem+json body is JSON: Fastify's swagger documents every response as application/json.
      (mediaType?.endsWith('+json') ? contents['application/json'] : undefined);
    if (!content)
      return `content type ${mediaType} is not documented for ${statusCode} (${Object.keys(contents).join(', ')})`;
    if (!content.schema) return undefined;
    let value: unknown = response.body;
    if (mediaType?.endsWith('json')) {
      try {
        value = JSON.parse(response.body);
      } catch {
        return `the ${mediaType} body is not JSON`;
      }
    }
    const validate = this.validator(content.schema);
    if (validate(value)) return undefined;
    return `the body does not match the ${statusCode} schema: ${this.ajv.errorsText(validate.errors)}`;
  }

  private validator(schema: Schema): ValidateFunction {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.compiled.set(schema, validate);
    }
    return validate;
  }
}
