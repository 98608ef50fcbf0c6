import { Type } from 'typebox';
import { EMAIL_MAX_LENGTH } from './credentials.js';
import { PASSWORD_MAX_LENGTH } from './passwords.js';
import { REFRESH_TOKEN_MAX_LENGTH } from './refresh-tokens.js';

/**
 * OAuth2 token endpoint shapes (RFC 6749 §4.3, §6, §5.1, §5.2) and token revocation (RFC 7009).
 * Field names are the RFC's snake_case. `grant_type` is a free string so that an unknown grant
 * answers `unsupported_grant_type` rather than a validation error.
 */
export const TokenRequest = Type.Object({
  grant_type: Type.String({
    maxLength: 64,
    description: '`password` (log in) or `refresh_token` (rotate a refresh token)',
  }),
  username: Type.Optional(
    Type.String({ maxLength: EMAIL_MAX_LENGTH, description: 'password grant: email or username' }),
  ),
  password: Type.Optional(Type.String({ maxLength: PASSWORD_MAX_LENGTH, format: 'password' })),
  refresh_token: Type.Optional(
    Type.String({ maxLength: REFRESH_TOKEN_MAX_LENGTH, description: 'refresh_token grant' }),
  ),
  scope: Type.Optional(Type.String({ maxLength: 1000, description: 'Accepted and ignored: no scopes' })),
  client_id: Type.Optional(Type.String({ maxLength: 200, description: 'Public clients only; ignored' })),
  client_secret: Type.Optional(
    Type.String({ maxLength: 200, description: 'Must be empty: there are no confidential clients' }),
  ),
});

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'JWT: send as `Authorization: Bearer <jwt>`' }),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires' }),
  refresh_token: Type.String({
    description:
      'Opaque, single use: every refresh answers a new one, and reusing an old one ends the session',
  }),
});

export const OAuthErrorResponse = Type.Object(
  {
    error: Type.Union([
      Type.Literal('invalid_request'),
      Type.Literal('invalid_client'),
      Type.Literal('invalid_grant'),
      Type.Literal('unauthorized_client'),
      Type.Literal('unsupported_grant_type'),
      Type.Literal('invalid_scope'),
      Type.Literal('unsupported_token_type'),
    ]),
    error_description: Type.String(),
  },
  { description: 'RFC 6749 §5.2 error response' },
);

export const RevokeRequest = Type.Object({
  token: Type.String({ maxLength: 4096, description: 'The refresh token to revoke' }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
});
