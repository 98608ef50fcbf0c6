/**
 * The one error family. Services throw these; the error handler (plugins/errors.ts) turns them
 * into `application/problem+json` bodies that also carry the RealWorld `errors` object.
 */

/** Field name → messages, as in RealWorld's `{"errors": {"email": ["has already been taken"]}}`. */
export type FieldErrors = Record<string, string[]>;

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly fieldErrors?: FieldErrors,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class BadRequestError extends HttpError {
  constructor(message = 'The request is malformed') {
    super(400, message);
  }
}

export class UnauthorizedError extends HttpError {
  /** `error` follows RFC 6750 §3 (`invalid_token` when a token was sent but is not acceptable). */
  constructor(message = 'Authentication required', error?: 'invalid_token') {
    const challenge = error
      ? `Bearer realm="conduit", error="${error}", error_description="${message}"`
      : 'Bearer realm="conduit"';
    super(401, message, undefined, { 'www-authenticate': challenge });
  }
}

export class ForbiddenError extends HttpError {
  constructor(message = 'You are not allowed to do this') {
    super(403, message);
  }
}

export class NotFoundError extends HttpError {
  constructor(what = 'Resource') {
    super(404, `${what} not found`);
  }
}

export class ConflictError extends HttpError {
  constructor(message: string) {
    super(409, message);
  }
}

/** 422 naming the fields, e.g. `new ValidationError({ email: ['has already been taken'] })`. */
export class ValidationError extends HttpError {
  constructor(fields: FieldErrors) {
    const detail = Object.entries(fields)
      .map(([field, messages]) => `${field} ${messages.join(', ')}`)
      .join('; ');
    super(422, detail, fields);
  }
}

export class TooManyRequestsError extends HttpError {
  constructor(retryAfterSeconds: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(429, `Too many requests, retry in ${seconds} s`, undefined, { 'retry-after': String(seconds) });
  }
}
