import { Type } from 'typebox';
import { Nullable } from '../../typebox.js';

/** Usernames in paths are bounded; the users module owns the rules for creating them. */
export const USERNAME_PARAM_MAX_LENGTH = 100;

export const ProfileSchema = Type.Object(
  {
    username: Type.String(),
    bio: Nullable(Type.String()),
    image: Nullable(Type.String({ description: 'The default avatar (`/avatars/default.svg`) when unset' })),
    following: Type.Boolean({
      description: 'Whether the signed-in user follows this user (false when anonymous)',
    }),
  },
  { description: 'A public profile' },
);

export const ProfileResponseSchema = Type.Object({ profile: ProfileSchema });

export const UsernameParamsSchema = Type.Object({
  username: Type.String({ minLength: 1, maxLength: USERNAME_PARAM_MAX_LENGTH }),
});
