import { Type } from 'typebox';
import { EMAIL_TOKEN_MAX_LENGTH } from './account-service.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.js';

export const TokenQuery = Type.Object({
  token: Type.String({
    minLength: 1,
    maxLength: EMAIL_TOKEN_MAX_LENGTH,
    description: 'The token from the email link',
  }),
});

export const ForgotPasswordBody = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
});

export const ResetPasswordBody = Type.Object({
  token: Type.String({ minLength: 1, maxLength: EMAIL_TOKEN_MAX_LENGTH }),
  password: Type.String({
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    format: 'password',
    description: `${PASSWORD_MIN_LENGTH}–${PASSWORD_MAX_LENGTH} characters`,
  }),
});

export const MessageResponse = Type.Object({ message: Type.String() });
