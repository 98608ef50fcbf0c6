import { type Static, type TSchema, Type } from 'typebox';

/**
 * `T` or `null` in a response schema, written `type: [T's type, "null"]` (valid JSON Schema and
 * OpenAPI 3.1) rather than `anyOf: [T, null]`: Fastify's serializer checks an `anyOf` by running
 * the validator on every value, `format` regexes included, which was half the serialization of a
 * 20-article list (24.6 µs against 11.8 µs, same output; docs/PERFORMANCE.md). For simple types
 * only (string, integer, number, boolean).
 */
export function Nullable<T extends TSchema & { type: 'string' | 'integer' | 'number' | 'boolean' }>(
  schema: T,
  options: { description?: string } = {},
) {
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, type: [schema.type, 'null'] });
}
