import { type Static, type TSchema, Type } from 'typebox';

/**
 * `T` or `null` in a response schema, written `type: [T's type, "null"]` (valid JSON Schema and
 * OpenAPI 3.1) rather than `anyOf: [T, null]`: Fastify's serializer checks an `anyOf` by running
 * the validator on every value, `format` regexes included, while a type list is a plain type test
 * with the same output. For simple types only (string, integer, number, boolean).
 */
export function Nullable<T extends TSchema & { type: 'string' | 'integer' | 'number' | 'boolean' }>(
  schema: T,
  options: { description?: string } = {},
) {
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, type: [schema.type, 'null'] });
}
