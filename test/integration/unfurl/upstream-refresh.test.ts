/**
 * Upstream credentials that stay valid, end to end (docs/adr/0127): the
 * generic `http` adapter calls a team API that accepts a bearer token only if
 * the local provider's userinfo endpoint accepts it, while the provider's
 * access tokens live 2 seconds (LOCAL_IDP_ACCESS_TOKEN_TTL_SECONDS). Over
 * several lifetimes, unfurls and pushed updates keep showing the product's
 * current data, each with a fresh token.
 */
import { describe, expect, it } from '@jest/globals';
import { sleep, titleIs, useScenario } from './upstream-scenario.js';

describe('2-second upstream tokens over three lifetimes', () => {
  const s = useScenario(2);

  it('unfurls and pushed updates keep showing current data, each lifetime with a new token', async () => {
    const firstToken = s.product().tokens[0];
    for (const round of [2, 3, 4]) {
      await sleep(2_100);
      await s.change(`Widget v${round}`);
      await s.bob().waitFor(titleIs(s.previewId(), `Widget v${round}`), 15_000);
      await sleep(2_100);
      const again = await s.bob().paste(`${s.product().base}/items/1`);
      expect(again.card?.title).toBe(`Widget v${round}`);
    }
    const distinct = new Set(s.product().tokens);
    // Six calls after the first, each more than one lifetime after the last: six refreshed tokens.
    expect(distinct.size).toBeGreaterThanOrEqual(7);
    expect(s.product().tokens.at(-1)).not.toBe(firstToken);
    expect((await s.connection()).upstreamTokenVersion).toBeGreaterThanOrEqual(6);
  }, 60_000);
});
