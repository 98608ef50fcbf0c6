import { HttpError } from '../../errors.js';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'unsupported_token_type';

/**
 * An RFC 6749 §5.2 error. The auth routes' error handler writes it as `{error, error_description}`
 * (what OAuth2 client libraries parse) instead of problem+json. 400, except `invalid_client` → 401.
 */
export class OAuthError extends HttpError {
  constructor(
    readonly code: OAuthErrorCode,
    description: string,
  ) {
    const unauthorized = code === 'invalid_client';
    super(
      unauthorized ? 401 : 400,
      description,
      undefined,
      unauthorized ? { 'www-authenticate': 'Basic realm="conduit"' } : {},
    );
  }
}
