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
    const env = {
      [ENV.CONNECTIONS_TABLE]: ddb().env[ENV.CONNECTIONS_TABLE],
      [ENV.SUBSCRIPTIONS_TABLE]: ddb().env[ENV.SUBSCRIPTIONS_TABLE],
    };
    const code = await main([...argv, '--endpoint', ddb().dynamodbEndpoint], env, (t) => lines.push(t));
    return { code, text: lines.join('\n') };
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
    const shown = await run('show', 'c-show');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.text)).toMatchObject({
      id: 'c-show',
      status: 'active',
      workspace: 'Acme',
      subscriptions: ['https://app.example.com/tasks/1'],
    });
    expect(shown.text).not.toMatch(/ciphertext|hash-of/);
    const listed = await run('list', '--subject', 'u-alice');
    expect((JSON.parse(listed.text) as Array<{ id: string }>).map((c) => c.id)).toContain('c-show');
    expect((await run('show', 'nobody')).code).toBe(1);
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
    await expect(run('revoke', 'c-revoke')).rejects.toThrow(/--reason/);
    const first = await run('revoke', 'c-revoke', '--reason', 'lost laptop');
    expect(first).toEqual({
      code: 0,
      text: 'Revoked connection c-revoke (Alice, workspace Acme); 2 subscription(s) removed.',
    });
    const after = await ddb().stores.connections.get('c-revoke');
    expect(after).toMatchObject({ status: 'revoked', tokenGeneration: 2, revokedReason: 'operator: lost laptop' });
    expect(after?.notionTokenCiphertext).toBeUndefined();
    expect(after?.refreshTokenHash).toBeUndefined();
    expect(await ddb().stores.subscriptions.listByConnection('c-revoke')).toEqual([]);
    const again = await run('revoke', 'c-revoke', '--reason', 'again');
    expect(again.text).toBe('Connection c-revoke was already revoked; 0 subscription(s) removed.');
  });

  it('without a command it prints the usage', async () => {
    const lines: string[] = [];
    expect(await main([], {}, (t) => lines.push(t))).toBe(2);
    expect(lines.join('')).toMatch(/^Usage: npm run connections/);
  });
});
