/**
 * Upstream credentials that stay valid, with LOCAL_IDP_ACCESS_TOKEN_TTL_SECONDS=5
 * (docs/adr/0127): an unfurl and a pushed update well after the first token
 * expired show current data with a new token; a refresh the provider refuses
 * gives the needs-auth answer (not a 5xx), and nothing is pushed for that
 * connection afterwards. (One local system per test file: see local/system.ts.)
 */
import { describe, expect, it } from '@jest/globals';
import { tokenCipherFromConfig } from '#adapters/crypto/token-cipher.js';
import { deliveryLog } from '#adapters/dynamo/factory.js';
import { upstreamTokenContext } from '#core/oauth/cipher-contexts.js';
import { tokensFromPlaintext } from '#core/sources/stored-tokens.js';
import { sleep, titleIs, useScenario } from './upstream-scenario.js';

describe('5-second upstream tokens (LOCAL_IDP_ACCESS_TOKEN_TTL_SECONDS=5)', () => {
  const s = useScenario(5);

  it('an unfurl and a pushed update well after the first token expired show current data, with a new token', async () => {
    const firstToken = s.product().tokens[0];
    await sleep(6_500);
    await s.change('Widget v2');
    await s.bob().waitFor(titleIs(s.previewId(), 'Widget v2'), 15_000);
    const pushedWith = s.product().tokens.at(-1);
    expect(pushedWith).not.toBe(firstToken);
    s.product().items.set('1', 'Widget v3');
    const again = await s.bob().paste(`${s.product().base}/items/1`);
    expect(again.card?.title).toBe('Widget v3');
    expect(s.product().tokens.at(-1)).not.toBe(firstToken);
    expect(s.product().refused()).toBe(0);
  }, 60_000);

  it('a refused refresh answers needs-auth (not 5xx), and nothing is pushed for the connection afterwards', async () => {
    // Someone spends the stored refresh token (it rotates): the service's next refresh is refused.
    const connection = await s.connection();
    const cipher = tokenCipherFromConfig(s.config());
    const stored = tokensFromPlaintext(
      await cipher.decrypt(connection.upstreamTokenCiphertext ?? '', upstreamTokenContext(connection.id)),
    );
    const env = s.config();
    const spent = await fetch(`${env.oidc.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${env.oidc.clientId}:${s.env().OIDC_CLIENT_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: stored?.refreshToken ?? '' }),
    });
    expect(spent.status).toBe(200);
    await sleep(5_500);
    const calls = s.product().tokens.length;
    const pushesBefore = (await s.bob().preview(s.previewId())).updates;

    const answer = await s.bob().paste(`${s.product().base}/items/1`);
    expect(answer.error?.status).toBe(401);
    expect(answer.failure).toBeUndefined();
    const marked = await s.connection();
    expect(marked.status).toBe('active');
    expect(marked.upstreamLoginRequiredAt).toBeDefined();
    expect(marked.upstreamTokenCiphertext).toBeUndefined();

    await s.change('Widget v4');
    const log = deliveryLog(s.config());
    const deadline = Date.now() + 15_000;
    while (!(await log.recent(marked.id, 10)).some((d) => d.action === 'needs_reauth')) {
      if (Date.now() > deadline) throw new Error('the worker did not record the skipped push');
      await sleep(100);
    }
    expect((await s.bob().preview(s.previewId())).updates).toBe(pushesBefore);
    expect((await s.bob().preview(s.previewId())).card?.title).not.toBe('Widget v4');
    // Neither the unfurl nor the worker called the product without a valid login.
    expect(s.product().tokens.length).toBe(calls);
  }, 60_000);
});
