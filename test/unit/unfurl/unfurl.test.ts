import { describe, expect, it } from '@jest/globals';
import { MemorySubscriptionStore } from '#adapters/memory/subscription-store.js';
import type { Connection } from '#core/ports.js';
import { noCredentials } from '#core/sources/credentials.js';
import { type ResolveOutcome, type SourceAdapter, SourceUnavailableError } from '#core/sources/source-adapter.js';
import { describeAge, ERROR_MESSAGES, snapshotAttributes } from '#core/unfurl/answers.js';
import { attr, canonicalJson, contentHash, validateAttributes } from '#core/unfurl/attributes.js';
import { withDeadline } from '#core/unfurl/render.js';
import { demoRules } from '#core/unfurl/rules.js';
import { answerUnfurl, type UnfurlAnswerDependencies } from '#core/unfurl/unfurl.js';
import { sourceRenderer } from '#core/updates/render.js';

const connection: Connection = {
  id: 'conn-1',
  subject: 'u-alice',
  displayName: 'Alice',
  clientId: 'notion',
  scope: 'unfurl',
  notion: { workspaceId: 'ws-1', workspaceName: 'WS', workspaceIcon: null, botId: 'bot' },
  status: 'active',
  tokenGeneration: 1,
  previousRefreshTokenHashes: [],
  createdAt: 0,
  updatedAt: 0,
};

const URI = 'http://127.0.0.1:3000/demo/tasks/1';

const setup = (resolve: SourceAdapter['resolve'], now = { t: 1_000_000 }) => {
  const calls: string[] = [];
  const subscriptions = new MemorySubscriptionStore();
  const deps: UnfurlAnswerDependencies = {
    integration: demoRules('http://127.0.0.1:3000'),
    adapter: {
      name: 'fake',
      resolve: (match, identity, credentials, context) => {
        calls.push(match.resourceKey);
        return resolve(match, identity, credentials, context);
      },
    },
    subscriptions,
    clock: { now: () => now.t },
    devName: 'Demo Dev',
    deadlineMs: 50,
    credentialsFor: () => noCredentials,
  };
  return { deps, calls, subscriptions, now };
};

const found = (title: string): ResolveOutcome => ({
  outcome: 'found',
  model: { title, attributes: [attr.plainText('x', 'X', 'y', 'body')] },
});

describe('answerUnfurl', () => {
  it('answers found with title and dev, and records the subscription with hash and snapshot', async () => {
    const { deps, subscriptions } = setup(async () => found('Task one'));
    const answer = await answerUnfurl(deps, connection, URI);
    expect(answer.outcome).toBe('found');
    if (answer.outcome !== 'found') return;
    const op = answer.body.operations[0]!;
    expect(answer.body.uri).toBe(URI);
    expect(op.path).toEqual(['attributes']);
    expect(validateAttributes(op.set).ok).toBe(true);
    const sub = await subscriptions.get('task:1', 'conn-1', URI);
    expect(sub?.contentHash).toMatch(/^v1:/);
    // Stored as the canonical JSON text the content hash is computed from.
    expect(sub?.snapshot).toBe(canonicalJson(op.set));
    expect(sub?.contentHash).toBe(contentHash(op.set as readonly unknown[]));
    expect(snapshotAttributes(sub?.snapshot)).toEqual(op.set);
    expect(sub?.workspaceId).toBe('ws-1');
  });

  it('reads a snapshot stored as JSON text or as a list, and nothing from unreadable text', () => {
    const set = [attr.title('T'), attr.dev('D')];
    expect(snapshotAttributes(canonicalJson(set))).toEqual(set);
    expect(snapshotAttributes(set)).toEqual(set);
    expect(snapshotAttributes('{not json')).toBeUndefined();
    expect(snapshotAttributes(undefined)).toBeUndefined();
  });

  it('trims the text of a snapshot stored under the earlier code-point limit, so it still serves (ADR 0148)', () => {
    // 2,000 code points of emoji: 4,000 UTF-16 units, within the limit as it was counted before.
    const old = [attr.title('T'), attr.dev('D'), { ...attr.title('T'), id: 'body' }];
    (old[2] as { inline: { title: { value: string } } }).inline.title.value = '😀'.repeat(2000);
    const read = snapshotAttributes(canonicalJson(old)) as typeof old;
    const text = (read[2] as { inline: { title: { value: string } } }).inline.title.value;
    expect(text).toBe('😀'.repeat(1000));
    expect(validateAttributes(read).ok).toBe(true);
  });

  it('never calls the adapter for a uri outside every rule', async () => {
    const { deps, calls } = setup(async () => found('x'));
    for (const uri of [
      'http://169.254.169.254/latest/meta-data',
      'http://127.0.0.1:3000/demo/api/tasks/1',
      'file:///etc/passwd',
      'nonsense',
    ]) {
      const answer = await answerUnfurl(deps, connection, uri);
      expect(answer).toEqual({
        outcome: 'no_rule',
        body: { uri, operations: [{ path: ['error'], set: ERROR_MESSAGES.no_rule }] },
      });
    }
    expect(calls).toEqual([]);
  });

  it.each([
    ['not_found', 404],
    ['forbidden', 403],
    ['gone', 410],
  ] as const)('%s → error %i, fixed message, subscription and snapshot removed', async (outcome, status) => {
    let next: ResolveOutcome = found('Secret title');
    const { deps, subscriptions } = setup(async () => next);
    await answerUnfurl(deps, connection, URI);
    next = { outcome };
    const answer = await answerUnfurl(deps, connection, URI);
    expect(answer.outcome).toBe(outcome);
    if (answer.outcome === 'unavailable') return;
    expect(answer.body.operations).toEqual([
      { path: ['error'], set: { status, message: ERROR_MESSAGES[outcome].message } },
    ]);
    expect(JSON.stringify(answer.body)).not.toContain('Secret');
    expect(await subscriptions.get('task:1', 'conn-1', URI)).toBeUndefined();
  });

  it('needs_auth → error 401 asking to reconnect', async () => {
    const { deps } = setup(async () => ({ outcome: 'needs_auth' }));
    const answer = await answerUnfurl(deps, connection, URI);
    expect(answer.outcome).toBe('needs_auth');
  });

  it('serves the last snapshot with its age when the source fails or misses the deadline', async () => {
    let mode: 'ok' | 'fail' | 'hang' = 'ok';
    const { deps, now } = setup(async () => {
      if (mode === 'fail') throw new SourceUnavailableError('down');
      if (mode === 'hang') return new Promise<never>(() => undefined);
      return found('Cached title');
    });
    await answerUnfurl(deps, connection, URI);
    for (const m of ['fail', 'hang'] as const) {
      mode = m;
      now.t += 5 * 60_000;
      const answer = await answerUnfurl(deps, connection, URI);
      expect(answer.outcome).toBe('stale');
      if (answer.outcome !== 'stale') return;
      const set = answer.body.operations[0]!.set as unknown[];
      expect(validateAttributes(set).ok).toBe(true);
      expect(JSON.stringify(set)).toContain('Cached title');
      expect(JSON.stringify(set)).toMatch(/Last updated (5|10) minutes ago/);
    }
  });

  it('answers unavailable when the source fails and nothing was ever sent', async () => {
    const { deps } = setup(async () => {
      throw new Error('boom');
    });
    expect((await answerUnfurl(deps, connection, URI)).outcome).toBe('unavailable');
  });

  it('takes an answer that is none of the five outcomes as "no answer", and keeps the subscription', async () => {
    let next: unknown = found('Task one');
    const { deps, subscriptions } = setup(async () => next as ResolveOutcome);
    await answerUnfurl(deps, connection, URI);
    for (const wrong of [{ outcome: 'error' }, { outcome: 'notFound' }, { outcome: 'toString' }, undefined, 'found']) {
      next = wrong;
      const answer = await answerUnfurl(deps, connection, URI);
      // The snapshot serves, as for any failure of the source; nothing is removed on a typo.
      expect(answer.outcome).toBe('stale');
      if (answer.outcome !== 'stale') return;
      expect(answer.reason).toMatch(/source adapter "fake" (answered no known outcome|failed)/);
      expect(await subscriptions.get('task:1', 'conn-1', URI)).toBeDefined();
    }
  });

  it("the update worker's renderer takes such an answer as a source failure (retried), not as nothing", async () => {
    const { deps } = setup(async () => ({ outcome: 'notFound' }) as unknown as ResolveOutcome);
    const renderer = sourceRenderer({ ...deps, credentialsFor: () => noCredentials });
    const subscription = { resourceKey: 'task:1', connectionId: 'conn-1', uri: URI, createdAt: 0, updatedAt: 0 };
    await expect(renderer.render({ connection, subscription } as never)).rejects.toThrow(
      new SourceUnavailableError(
        'source adapter "fake" answered no known outcome (expected one of found, not_found, forbidden, needs_auth, gone)',
      ),
    );
  });

  it('says why the source gave no answer, with what the adapter threw', async () => {
    let next: () => Promise<unknown> = async () => ({ outcome: 'found', model: { title: 't', attributes: null } });
    const { deps } = setup(() => next() as Promise<ResolveOutcome>);
    const reasonOf = async () => {
      const answer = await answerUnfurl(deps, connection, URI);
      return answer.outcome === 'unavailable' || answer.outcome === 'stale' ? answer.reason : undefined;
    };
    expect(await reasonOf()).toMatch(/^source adapter "fake" answered an unusable model: TypeError: /);
    next = async () => {
      throw new Error('ticket API client not configured');
    };
    expect(await reasonOf()).toBe('source adapter "fake" failed: Error: ticket API client not configured');
    next = async () => {
      throw new SourceUnavailableError('Acme answered HTTP 502');
    };
    expect(await reasonOf()).toBe('Acme answered HTTP 502');
    next = () => new Promise(() => undefined);
    expect(await reasonOf()).toBe('source missed the 50 ms deadline');
  });

  it('turns an invalid hand-made model into "no answer", not a 500', async () => {
    const { deps } = setup(async () => ({
      outcome: 'found',
      model: {
        title: 't',
        attributes: [{ id: 'bad', name: 'B', type: 'inline', inline: { enum: { value: 'x', section: 'body' } } }],
      },
    }));
    expect((await answerUnfurl(deps, connection, URI)).outcome).toBe('unavailable');
  });
});

describe('helpers', () => {
  it('withDeadline aborts the signal and rejects at the deadline', async () => {
    let aborted = false;
    await expect(
      withDeadline(
        10,
        (signal) =>
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('aborted'));
            }),
          ),
        Date.now,
      ),
    ).rejects.toBeInstanceOf(SourceUnavailableError);
    expect(aborted).toBe(true);
    await expect(withDeadline(1000, async () => 42, Date.now)).resolves.toBe(42);
  });

  it('describes ages in words', () => {
    expect(describeAge(1000)).toBe('1 second');
    expect(describeAge(125_000)).toBe('2 minutes');
    expect(describeAge(7_200_000)).toBe('2 hours');
    expect(describeAge(3 * 86_400_000)).toBe('3 days');
  });
});
