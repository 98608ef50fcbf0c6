import * as oauth from 'oauth4webapi';
import { ResourceOwnerPassword } from 'simple-oauth2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/app.js';
import { register } from '../users/helpers.js';

/**
 * Stock OAuth2 client libraries, unchanged, against a real listening server: simple-oauth2 for the
 * password grant (oauth4webapi leaves it out, following OAuth 2.1), oauth4webapi, which checks
 * responses strictly, for refresh and revocation.
 */
let t: TestApp;
let base: string;
beforeAll(async () => {
  t = await createTestApp();
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => t.close());

const clientFor = (authorizationMethod: 'header' | 'body') =>
  new ResourceOwnerPassword({
    client: { id: 'conduit-web', secret: '' },
    auth: { tokenHost: base, tokenPath: '/api/auth/token', revokePath: '/api/auth/revoke' },
    options: { authorizationMethod },
  });

describe('stock OAuth2 clients', () => {
  it.each(['header', 'body'] as const)(
    'simple-oauth2 logs in (client id in the %s), refreshes and revokes',
    async (method) => {
      const user = await register(t.app);
      const client = clientFor(method);
      const session = await client.getToken({ username: user.email, password: user.password });
      expect(session.token).toMatchObject({ token_type: 'bearer', expires_in: 900 });
      const me = await fetch(`${base}/api/user`, {
        headers: { authorization: `Bearer ${session.token.access_token}` },
      });
      expect(me.status).toBe(200);

      const refreshed = await session.refresh();
      expect(refreshed.token.refresh_token).not.toBe(session.token.refresh_token);
      await refreshed.revoke('refresh_token');
      await expect(refreshed.refresh()).rejects.toMatchObject({
        output: { statusCode: 400 },
        data: { payload: { error: 'invalid_grant' } },
      });
    },
  );

  it('simple-oauth2 surfaces a wrong password as invalid_grant', async () => {
    const user = await register(t.app);
    await expect(
      clientFor('header').getToken({ username: user.email, password: 'wrong password' }),
    ).rejects.toMatchObject({ output: { statusCode: 400 }, data: { payload: { error: 'invalid_grant' } } });
  });

  it('oauth4webapi refreshes (rotation, reuse detection) and revokes', async () => {
    const user = await register(t.app);
    const initial = await clientFor('body').getToken({ username: user.email, password: user.password });
    const as: oauth.AuthorizationServer = {
      issuer: base,
      token_endpoint: `${base}/api/auth/token`,
      revocation_endpoint: `${base}/api/auth/revoke`,
    };
    const client: oauth.Client = { client_id: 'conduit-web' };
    const options = { [oauth.allowInsecureRequests]: true };
    const first = String(initial.token.refresh_token);

    const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first, options);
    const rotated = await oauth.processRefreshTokenResponse(as, client, response);
    expect(rotated.token_type).toBe('bearer');
    expect(rotated.refresh_token).toEqual(expect.any(String));
    expect(rotated.refresh_token).not.toBe(first);

    const reuse = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first, options);
    await expect(oauth.processRefreshTokenResponse(as, client, reuse)).rejects.toMatchObject({
      error: 'invalid_grant',
      status: 400,
    });

    const revoke = await oauth.revocationRequest(
      as,
      client,
      oauth.None(),
      String(rotated.refresh_token),
      options,
    );
    await expect(oauth.processRevocationResponse(revoke)).resolves.toBeUndefined();
  });
});
