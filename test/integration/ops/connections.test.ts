/**
 * npm run connections against a real DynamoDB-compatible server: support can
 * look a connection up without seeing token material, and revoking ends it the
 * way the deleted-token callback does (generation bumped, tokens and
 * subscriptions gone).
 */
import { describe, expect, it } from '@jest/globals';
import type { Connection } from '#core/ports.js';
import { ENV } from '#lib/env-names.js';
import { useDynamo } from '#test/helpers/ddb.js';
import { UsageError } from '../../../scripts/cli.js';
import { main } from '../../../scripts/connections.js';

const NOW = Date.now();
const connection = (id: string, subject = 'u-alice'): Connection => ({
  id,
  subject,
  displayName: 'Alice',
  clientId: 'notion-link-preview',
  scope: 'unfurl',
  notion: { workspaceId: 'ws-1', workspaceName: 'Acme', workspaceIcon: null, botId: 'bot-1' },
  notionTokenCiphertext: 'ciphertext-of-the-notion-token',
  status: 'active',
  tokenGeneration: 1,
  refreshTokenHash: 'hash-of-the-refresh-token',
  previousRefreshTokenHashes: [],
  createdAt: NOW,
  updatedAt: NOW,
});

describe('npm run connections (local DynamoDB)', () => {
  const ddb = useDynamo();
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    const errors: string[] = [];
    const env = {
      [ENV.CONNECTIONS_TABLE]: ddb().env[ENV.CONNECTIONS_TABLE],
      [ENV.SUBSCRIPTIONS_TABLE]: ddb().env[ENV.SUBSCRIPTIONS_TABLE],
      [ENV.DELIVERY_LOG_TABLE]: ddb().env[ENV.DELIVERY_LOG_TABLE],
    };
    const code = await main([...argv, '--endpoint', ddb().dynamodbEndpoint], env, (t) => lines.push(t), {
      err: (t) => errors.push(t),
      running: () => undefined,
    });
    return { code, text: lines.join('\n'), errors: errors.join('\n') };
  };

  it('show and list print the connection without any token material', async () => {
    await ddb().stores.connections.create(connection('c-show'));
    await ddb().stores.subscriptions.upsert({
      resourceKey: 'task:1',
      connectionId: 'c-show',
      uri: 'https://app.example.com/tasks/1',
      createdAt: NOW,
      updatedAt: NOW,
    });
    const shown = await run('show', 'c-show', '--json');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.text)).toMatchObject({
      id: 'c-show',
      status: 'active',
      workspace: 'Acme',
      subscriptions: ['https://app.example.com/tasks/1'],
    });
    expect(shown.text).not.toMatch(/ciphertext|hash-of/);
    const listed = await run('list', '--subject', 'u-alice', '--json');
    expect((JSON.parse(listed.text) as Array<{ id: string }>).map((c) => c.id)).toContain('c-show');

    const text = await run('show', 'c-show');
    expect(text.code).toBe(0);
    expect(text.text).toMatch(/^Connection c-show: active\n/);
    expect(text.text).toContain('workspace         Acme (ws-1), bot bot-1');
    expect(text.text).toContain('subscriptions     1\n    https://app.example.com/tasks/1');
    expect(text.text).not.toMatch(/ciphertext|hash-of/);
    expect((await run('list', '--subject', 'u-alice')).text).toContain('Connection c-show: active');
  });

  it('shows when a connection whose code is not yet redeemed lapses, and finds none that has lapsed (ADR 0160)', async () => {
    const pending = { ...connection('c-pending', 'u-pending'), tokenGeneration: 0, expiresAt: NOW + 3_600_000 };
    delete (pending as { refreshTokenHash?: string }).refreshTokenHash;
    await ddb().stores.connections.create(pending);
    const shown = await run('show', 'c-pending', '--json');
    expect(JSON.parse(shown.text)).toMatchObject({ unredeemedUntil: new Date(NOW + 3_600_000).toISOString() });
    expect((await run('show', 'c-pending')).text).toContain(
      `not redeemed      its code was never redeemed; it lapses at ${new Date(NOW + 3_600_000).toISOString()}`,
    );
    await ddb().stores.connections.create({ ...connection('c-lapsed', 'u-pending'), expiresAt: NOW - 1 });
    expect((await run('show', 'c-lapsed')).errors).toBe('connections: no connection c-lapsed');
    expect(await run('revoke', 'c-lapsed', '--yes')).toMatchObject({
      code: 1,
      errors: 'connections: no connection c-lapsed',
    });
    const listed = await run('list', '--subject', 'u-pending', '--json');
    expect((JSON.parse(listed.text) as Array<{ id: string }>).map((c) => c.id)).toEqual(['c-pending']);
    expect((await ddb().stores.connections.get('c-lapsed'))?.status).toBe('active');
  });

  it('says on stderr, with exit status 1, when nothing matches', async () => {
    const none = await run('list', '--subject', 'u-nobody');
    expect(none).toEqual({
      code: 1,
      text: '',
      errors: expect.stringMatching(/^connections: no connection has the subject "u-nobody"/),
    });
    const noneJson = await run('list', '--subject', 'u-nobody', '--json');
    expect(noneJson.code).toBe(1);
    expect(JSON.parse(noneJson.text)).toEqual([]);
    const unknown = await run('show', 'nobody', '--json');
    expect(unknown).toEqual({ code: 1, text: '', errors: 'connections: no connection nobody' });
    expect(await run('revoke', 'nobody', '--yes', '--reason', 'test')).toMatchObject({
      code: 1,
      errors: 'connections: no connection nobody',
    });
  });

  it('revoke ends the connection like the deleted-token callback, and is idempotent', async () => {
    await ddb().stores.connections.create(connection('c-revoke', 'u-bob'));
    for (const n of [1, 2]) {
      await ddb().stores.subscriptions.upsert({
        resourceKey: `task:${n}`,
        connectionId: 'c-revoke',
        uri: `https://app.example.com/tasks/${n}`,
        createdAt: NOW,
        updatedAt: NOW,
      });
    }
    await expect(run('revoke')).rejects.toThrow(/connection id or --subject/);
    await expect(run('revoke', 'c-revoke', '--subject', 'u-bob')).rejects.toThrow(/not both/);
    // Without --yes: what would be revoked, exit status 3, nothing changed.
    const dry = await run('revoke', 'c-revoke', '--reason', 'lost laptop');
    expect(dry.code).toBe(3);
    expect(dry.text).toMatch(/^Would revoke 1 connection\(s\):\n/);
    expect(dry.text).toContain('Connection c-revoke: active');
    expect(dry.errors).toBe('connections: nothing revoked: add --yes to revoke 1 connection(s)');
    expect(await ddb().stores.connections.get('c-revoke')).toMatchObject({ status: 'active' });
    expect(await ddb().stores.subscriptions.listByConnection('c-revoke')).toHaveLength(2);
    const first = await run('revoke', 'c-revoke', '--yes', '--reason', 'lost laptop');
    expect(first).toEqual({
      code: 0,
      text: 'Revoked connection c-revoke (Alice, workspace Acme); 2 subscription(s) removed.',
      errors: '',
    });
    const after = await ddb().stores.connections.get('c-revoke');
    expect(after).toMatchObject({ status: 'revoked', tokenGeneration: 2, revokedReason: 'operator: lost laptop' });
    expect(after?.notionTokenCiphertext).toBeUndefined();
    expect(after?.refreshTokenHash).toBeUndefined();
    expect(await ddb().stores.subscriptions.listByConnection('c-revoke')).toEqual([]);
    const again = await run('revoke', 'c-revoke', '--yes', '--reason', 'again');
    expect(again.text).toBe('Connection c-revoke was already revoked; 0 subscription(s) removed.');
    const json = await run('revoke', 'c-revoke', '--yes', '--reason', 'again', '--json');
    expect(JSON.parse(json.text)).toEqual({
      id: 'c-revoke',
      statusBefore: 'revoked',
      status: 'revoked',
      subscriptionsRemoved: 0,
    });
  });

  it('revoke --subject ends every active connection of a user, after --yes', async () => {
    await ddb().stores.connections.create(connection('c-carol-1', 'u-carol'));
    await ddb().stores.connections.create(connection('c-carol-2', 'u-carol'));
    const dry = await run('revoke', '--subject', 'u-carol', '--json');
    expect(dry.code).toBe(3);
    expect(JSON.parse(dry.text)).toMatchObject({
      revoked: false,
      wouldRevoke: [expect.objectContaining({ status: 'active' }), expect.objectContaining({ status: 'active' })],
    });
    const done = await run('revoke', '--subject', 'u-carol', '--yes');
    expect(done.code).toBe(0);
    expect(done.text.split('\n')).toHaveLength(2);
    for (const id of ['c-carol-1', 'c-carol-2']) {
      expect(await ddb().stores.connections.get(id)).toMatchObject({ status: 'revoked', revokedReason: 'operator' });
    }
    expect(await run('revoke', '--subject', 'u-carol', '--yes')).toMatchObject({
      code: 1,
      errors: 'connections: no active connection has the subject "u-carol" (2 already ended)',
    });
  });

  it('without a command it is a usage error; --help prints the usage', async () => {
    await expect(main([], {})).rejects.toThrow(UsageError);
    await expect(main(['delete', 'c-1'], {})).rejects.toThrow(/unknown command delete/);
    await expect(main(['show'], {})).rejects.toThrow(/show needs a connection id/);
    await expect(main(['show', 'c-1', '--outputs', '/nonexistent/cdk-outputs.json'], {})).rejects.toThrow(
      new UsageError(
        'no outputs file /nonexistent/cdk-outputs.json (npm run deploy writes cdk-outputs.json; else give --outputs <file>, or --endpoint for a local system)',
      ),
    );
    const lines: string[] = [];
    expect(await main(['--help'], {}, (t) => lines.push(t))).toBe(0);
    expect(lines.join('')).toMatch(/^Usage: npm run connections/);
  });

  it('without --endpoint or --aws it uses the running npm start, or says what to give', async () => {
    const errors: string[] = [];
    await expect(main(['show', 'c-1'], {}, () => {}, { running: () => undefined })).rejects.toThrow(/--endpoint/);
    await ddb().stores.connections.create(connection('c-running'));
    const lines: string[] = [];
    const code = await main(
      ['show', 'c-running', '--json'],
      {
        [ENV.CONNECTIONS_TABLE]: ddb().env[ENV.CONNECTIONS_TABLE],
        [ENV.SUBSCRIPTIONS_TABLE]: ddb().env[ENV.SUBSCRIPTIONS_TABLE],
      },
      (t) => lines.push(t),
      {
        err: (t) => errors.push(t),
        running: () => ({
          pid: 1,
          port: 3000,
          baseUrl: 'http://127.0.0.1:3000',
          publicBaseUrl: 'http://127.0.0.1:3000',
          dynamodbEndpoint: ddb().dynamodbEndpoint,
          sqsEndpoint: 'http://127.0.0.1:1',
          startedAt: new Date().toISOString(),
        }),
      },
    );
    expect(code).toBe(0);
    expect(JSON.parse(lines.join(''))).toMatchObject({ id: 'c-running' });
    expect(errors).toEqual([`connections: the running npm start's DynamoDB at ${ddb().dynamodbEndpoint} (pid 1)`]);
  });
});
