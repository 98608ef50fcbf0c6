import { Type } from 'typebox';
import { Nullable } from '../../typebox.js';
import { EMAIL_MAX_LENGTH } from '../auth/credentials.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/passwords.js';

/**
 * Request and response shapes of the RealWorld user endpoints. Input is bounded everywhere; what a
 * client may not set (role, id, password hash) is simply absent from the schemas, and Fastify's
 * Ajv drops unknown properties, so they never reach the service.
 */

/** 3–32 letters, digits, `_` or `-`: safe in URLs (`/api/profiles/:username`) and unambiguous vs emails. */
export const USERNAME_PATTERN = '^[A-Za-z0-9_-]{3,32}$';

// Surrounding blanks are allowed here and trimmed by the service, which also lower-cases.
const Email = Type.String({
  maxLength: EMAIL_MAX_LENGTH,
  pattern: '^\\s*[^\\s@]+@[^\\s@]+\\.[^\\s@]+\\s*$',
  description: 'Trimmed and lower-cased before it is stored; unique',
  examples: ['jake@jake.jake'],
});
const Username = Type.String({
  pattern: USERNAME_PATTERN,
  description: '3–32 characters: letters, digits, `_` and `-`; unique regardless of case',
  examples: ['jake'],
});
const NewPassword = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  format: 'password',
  description: `${PASSWORD_MIN_LENGTH}–${PASSWORD_MAX_LENGTH} characters`,
});
// Login does not restate the policy (a short password simply does not match), only the bound.
const AnyPassword = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, format: 'password' });
// Null first: Ajv's type coercion would otherwise turn null into "" through the string branch.
const Bio = Type.Union([Type.Null(), Type.String({ maxLength: 2000 })], {
  description: '`null` or an empty string clears it',
});
const Image = Type.Union([Type.Null(), Type.String({ maxLength: 2048 })], {
  description: 'URL of an avatar; `null` or an empty string clears it',
});

export const NewUserBody = Type.Object({
  user: Type.Object({ username: Username, email: Email, password: NewPassword }),
});

export const LoginBody = Type.Object({
  user: Type.Object({ email: Email, password: AnyPassword }),
});

export const UpdateUserBody = Type.Object({
  user: Type.Object(
    {
      email: Type.Optional(Email),
      username: Type.Optional(Username),
      password: Type.Optional(NewPassword),
      bio: Type.Optional(Bio),
      image: Type.Optional(Image),
    },
    { description: 'Only these fields can be changed; anything else is ignored' },
  ),
});

export const UserResponse = Type.Object({
  user: Type.Object({
    email: Type.String(),
    token: Type.String({ description: 'JWT access token: send as `Authorization: Token <jwt>`' }),
    username: Type.String(),
    bio: Nullable(Type.String(), { description: '`null` until the user sets one' }),
    image: Nullable(Type.String(), {
      description: 'The URL of the default avatar (`/avatars/default.svg`) until the user sets one',
    }),
    emailVerified: Type.Boolean({ description: 'Whether the email address was verified' }),
  }),
});
