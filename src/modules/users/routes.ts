import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Database } from '../../db/client.js';
import type { EmailKeys } from '../../email/render.js';
import { HttpError } from '../../errors.js';
import { SIGNED_IN } from '../../http/security.js';
import { requireViewer } from '../../plugins/auth.js';
import { problemResponses } from '../../plugins/errors.js';
import { runWrite, type WriteDeps } from '../../unit-of-work.js';
import type { AccessTokenSigner } from '../auth/access-token.js';
import { queueVerificationEmail } from '../auth/account-service.js';
import { verifyCredentials } from '../auth/credentials.js';
import { preparePasswordHashing } from '../auth/passwords.js';
import { defaultAvatarUrl, imageToStore } from '../profiles/avatar.js';
import { LoginBody, NewUserBody, UpdateUserBody, UserResponse } from './schemas.js';
import {
  applyUserUpdate,
  getUser,
  insertUser,
  prepareNewUser,
  prepareUserUpdate,
  type UserRecord,
} from './service.js';

export interface UserRoutesOptions {
  db: Database;
  accessTokens: AccessTokenSigner;
  /** Runs each write as a unit of work (verification emails, cache invalidation after commit). */
  writes: WriteDeps;
  keys: EmailKeys;
}

const TAGS = ['User and Authentication'];

/** The same answer for an unknown email and a wrong password: nothing tells which it was. */
function invalidCredentials(): HttpError {
  return new HttpError(
    401,
    'email or password is invalid',
    { 'email or password': ['is invalid'] },
    { 'www-authenticate': 'Bearer realm="conduit"' },
  );
}

/**
 * The RealWorld user object (hash-free by construction, and by the response schema); an unset
 * image answers the default avatar, as in every profile (src/modules/profiles/avatar.ts).
 */
async function userView(user: UserRecord, accessTokens: AccessTokenSigner, defaultImage: string) {
  return {
    user: {
      email: user.email,
      token: await accessTokens.signSession(user),
      username: user.username,
      bio: user.bio,
      image: user.image ?? defaultImage,
      emailVerified: user.emailVerifiedAt !== null,
    },
  };
}

type WithUser = { body: { user: { email?: string } } };

export const userRoutes: FastifyPluginAsyncTypebox<UserRoutesOptions> = async (
  app,
  { db, accessTokens, writes, keys },
) => {
  const defaultImage = defaultAvatarUrl(keys.appUrl);

  // The dummy hash for unknown-account logins is made before the first request, not during it.
  app.addHook('onReady', preparePasswordHashing);

  const accountOfBody = (request: { body: unknown }) => (request as WithUser).body.user.email;

  app.post(
    '/users',
    {
      preHandler: app.authRateLimit('register', accountOfBody),
      schema: {
        tags: TAGS,
        summary: 'Register a new user',
        description:
          'Emails are trimmed, lower-cased and unique. Usernames: 3–32 letters, digits, `_` or `-`, unique ' +
          'regardless of case. Passwords: 8–256 characters. Duplicates answer 422 naming the field.',
        body: NewUserBody,
        response: { 201: UserResponse, ...problemResponses(422, 429) },
      },
    },
    async (request, reply) => {
      const prepared = await prepareNewUser(db, request.body.user);
      // The verification email exists exactly when the account does.
      const user = await runWrite(writes, async (uow) => {
        const created = await insertUser(uow, prepared);
        await queueVerificationEmail(uow, created);
        return created;
      });
      return reply.code(201).send(await userView(user, accessTokens, defaultImage));
    },
  );

  app.post(
    '/users/login',
    {
      preHandler: app.authRateLimit('login', accountOfBody),
      schema: {
        tags: TAGS,
        summary: 'Log in with email and password',
        description:
          'Returns the user with a JWT access token. A wrong password and an unknown email give the same 401.',
        body: LoginBody,
        response: { 200: UserResponse, ...problemResponses(401, 422, 429) },
      },
    },
    async (request) => {
      const user = await verifyCredentials(db, request.body.user.email, request.body.user.password);
      if (!user) throw invalidCredentials();
      return userView(user, accessTokens, defaultImage);
    },
  );

  app.get(
    '/user',
    {
      preHandler: app.authenticate,
      schema: {
        tags: TAGS,
        summary: 'Get the current user',
        security: SIGNED_IN,
        response: { 200: UserResponse, ...problemResponses(401) },
      },
    },
    async (request) => userView(await getUser(db, requireViewer(request).id), accessTokens, defaultImage),
  );

  app.put(
    '/user',
    {
      preHandler: app.authenticate,
      schema: {
        tags: TAGS,
        summary: 'Update the current user',
        description:
          'Changes email, username, password, bio or image (other fields are ignored). A new email is ' +
          'unverified again. A new password revokes every token issued to the user so far (access and ' +
          'refresh tokens, on every device); the response carries a fresh token.',
        security: SIGNED_IN,
        body: UpdateUserBody,
        response: { 200: UserResponse, ...problemResponses(401, 422) },
      },
    },
    async (request) => {
      const viewer = requireViewer(request);
      const prepared = await prepareUserUpdate(db, viewer.id, imageToStore(request.body.user, defaultImage));
      const user = await runWrite(writes, async (uow) => {
        const { user: updated, emailChanged } = await applyUserUpdate(uow, prepared);
        if (emailChanged) await queueVerificationEmail(uow, updated);
        return updated;
      });
      return userView(user, accessTokens, defaultImage);
    },
  );
};
