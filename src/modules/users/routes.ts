import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { cacheWrites } from '../../cache/namespaces.js';
import type { Database, Transaction } from '../../db/client.js';
import type { EmailDispatcher } from '../../email/dispatch.js';
import type { EmailKeys } from '../../email/render.js';
import { HttpError } from '../../errors.js';
import { SIGNED_IN } from '../../http/security.js';
import { requireViewer } from '../../plugins/auth.js';
import { problemResponses } from '../../plugins/errors.js';
import type { AccessTokenSigner } from '../auth/access-token.js';
import { queueVerificationEmail } from '../auth/account-service.js';
import { verifyCredentials } from '../auth/credentials.js';
import { preparePasswordHashing } from '../auth/passwords.js';
import { defaultAvatarUrl, imageToStore } from '../profiles/avatar.js';
import { LoginBody, NewUserBody, UpdateUserBody, UserResponse } from './schemas.js';
import { getUser, registerUser, type UserRecord, updateUser } from './service.js';

export interface UserRoutesOptions {
  db: Database;
  accessTokens: AccessTokenSigner;
  /** Verification emails (signup, email change): queued in the transaction, dispatched after commit. */
  emails: EmailDispatcher;
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
  { db, accessTokens, emails, keys },
) => {
  /** Queues the verification email of `user` in `tx` and remembers its id for after the commit. */
  const verification = (emailIds: number[]) => async (tx: Transaction, user: UserRecord) => {
    emailIds.push(await queueVerificationEmail(tx, keys, user));
  };

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
      const emailIds: number[] = [];
      const user = await registerUser(db, request.body.user, { inTransaction: verification(emailIds) });
      await emails.dispatch(emailIds);
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
      const verified = await verifyCredentials(db, request.body.user.email, request.body.user.password);
      if (!verified) throw invalidCredentials();
      return userView(await getUser(db, verified.id), accessTokens, defaultImage);
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
      const emailIds: number[] = [];
      const user = await updateUser(db, viewer.id, imageToStore(request.body.user, defaultImage), {
        onEmailChanged: verification(emailIds),
      });
      await emails.dispatch(emailIds);
      await app.cache.invalidate(cacheWrites.userUpdated(viewer.username, user.username));
      return userView(user, accessTokens, defaultImage);
    },
  );
};
