/**
 * The pure parts of keeping local state (ADR 0101): `npm start` arguments and
 * data directory, the Notion simulator's world snapshot round trip, and the
 * checks applied to snapshots read back from disk.
 */
import { describe, expect, it } from '@jest/globals';
import { ENV } from '#lib/env-names.js';
import { isTask } from '#local/demo-product/persistence.js';
import { seedTasks } from '#local/demo-product/tasks.js';
import { isWorldSnapshot, restoreWorld, snapshotWorld } from '#local/notion-simulator/persistence.js';
import { NotionSimulator } from '#local/notion-simulator/simulator.js';
import { dataDirFromEnvironment, freshGivenToNpm, parseStartArguments, StartUsageError } from '#local/start.js';
import { DEFAULT_DATA_DIR } from '#local/state-dir.js';

const simulator = (workspace?: { id: string; name: string; icon: null }) =>
  new NotionSimulator({
    baseUrl: 'http://127.0.0.1:3000',
    integration: {
      domain: 'acme.test',
      rules: [{ name: 'item', pattern: String.raw`^https://acme\.test/items/(?<id>\d+)$`, placeholder: [] }],
    },
    notionClient: { clientId: 'n', clientSecret: 'n-secret' },
    serviceClient: { clientId: 's', clientSecret: 's-secret' },
    ...(workspace ? { workspace } : {}),
  });

describe('npm start arguments', () => {
  it('knows --fresh and --help, and refuses anything else', () => {
    expect(parseStartArguments([])).toEqual({ fresh: false, help: false });
    expect(parseStartArguments(['--fresh'])).toEqual({ fresh: true, help: false });
    expect(parseStartArguments(['-h']).help).toBe(true);
    expect(() => parseStartArguments(['--frsh'])).toThrow();
    expect(() => parseStartArguments(['fresh'])).toThrow();
  });

  it("says what is wrong in the scripts' words, and --help wins over a mistake", () => {
    expect(() => parseStartArguments(['--frsh'])).toThrow(new StartUsageError('unknown option --frsh'));
    expect(() => parseStartArguments(['fresh'])).toThrow(new StartUsageError('unexpected argument fresh'));
    expect(() => parseStartArguments(['--fresh=yes'])).toThrow(new StartUsageError('option --fresh takes no value'));
    expect(parseStartArguments(['--frsh', '--help'])).toEqual({ fresh: false, help: true });
  });

  it('takes `npm start --fresh` (npm keeps the option and passes npm_config_fresh) as --fresh', () => {
    expect(freshGivenToNpm({ npm_lifecycle_event: 'start', npm_config_fresh: 'true' })).toBe(true);
    expect(freshGivenToNpm({ npm_lifecycle_event: 'start' })).toBe(false);
    expect(freshGivenToNpm({ npm_lifecycle_event: 'start', npm_config_fresh: '' })).toBe(false);
    // Another script run with --fresh passes it on to nothing it starts.
    expect(freshGivenToNpm({ npm_lifecycle_event: 'test', npm_config_fresh: 'true' })).toBe(false);
  });

  it('keeps state in .local-data/ unless LOCAL_DATA_DIR names another directory', () => {
    expect(DEFAULT_DATA_DIR).toMatch(/[/\\]\.local-data$/);
    expect(dataDirFromEnvironment({})).toBe(DEFAULT_DATA_DIR);
    expect(dataDirFromEnvironment({ [ENV.LOCAL_DATA_DIR]: ' ' })).toBe(DEFAULT_DATA_DIR);
    expect(dataDirFromEnvironment({ [ENV.LOCAL_DATA_DIR]: '/tmp/elsewhere' })).toBe('/tmp/elsewhere');
  });
});

describe('the Notion simulator world snapshot', () => {
  it('round-trips connections, tokens, users, previews and codes through JSON', () => {
    const before = simulator();
    const made = before.createConnection({ key: 'alice', name: 'Alice' });
    before.addPreview(made.connectionId, 'https://acme.test/items/1');
    const revoked = before.createConnection({ key: 'bob' });
    before.revokeConnection(revoked.connectionId);
    const code = before.issueCode();
    const snapshot: unknown = JSON.parse(JSON.stringify(snapshotWorld(before.world)));
    expect(isWorldSnapshot(snapshot)).toBe(true);
    if (!isWorldSnapshot(snapshot)) return;

    const after = simulator({ ...snapshot.workspace, icon: null });
    restoreWorld(after.world, snapshot);
    expect(after.world.workspace.id).toBe(before.world.workspace.id);
    // The kept access token is accepted again; the revoked connection's is not.
    expect(after.world.connectionByToken(made.accessToken)?.id).toBe(made.connectionId);
    expect(after.world.connectionByToken(revoked.accessToken)).toBeUndefined();
    expect(after.session(made.sessionId)?.previews.map((p) => p.uri)).toEqual(['https://acme.test/items/1']);
    expect(after.world.codes.get(code)?.sessionId).toBeTruthy();
    // New users go on numbering where the last run stopped.
    const next = after.createSession();
    expect(next.user.name).toContain(`Notion user ${before.world.userCount + 1}`);
  });

  it('keeps an access token expired on purpose expired, and its refresh token valid', () => {
    const before = simulator();
    before.configure({ api: { issueRefreshToken: true } });
    const made = before.createConnection({ key: 'carol' });
    const refreshToken = before.connection(made.connectionId)?.refreshToken as string;
    expect(before.expireAccessToken(made.connectionId)).toBe(true);
    const snapshot = JSON.parse(JSON.stringify(snapshotWorld(before.world))) as ReturnType<typeof snapshotWorld>;

    const after = simulator({ ...snapshot.workspace, icon: null });
    restoreWorld(after.world, snapshot);
    expect(after.world.connectionByToken(made.accessToken)).toBeUndefined();
    expect(after.world.refreshTokens.get(refreshToken)).toBe(made.connectionId);
  });

  it('refuses to restore into a world of another workspace, and rejects what is not a snapshot', () => {
    const snapshot = snapshotWorld(simulator().world);
    expect(() => restoreWorld(simulator().world, snapshot)).toThrow(/another workspace/);
    expect(isWorldSnapshot({ ...snapshot, version: 2 })).toBe(false);
    expect(isWorldSnapshot({ ...snapshot, sessions: [{ id: 1 }] })).toBe(false);
    expect(isWorldSnapshot({ ...snapshot, connections: [{ id: 'c', accessToken: 7, sessionId: 's' }] })).toBe(false);
    expect(isWorldSnapshot(null)).toBe(false);
  });
});

describe('kept demo tasks', () => {
  it('accepts the seed tasks and rejects malformed ones', () => {
    for (const task of seedTasks(0)) expect(isTask(JSON.parse(JSON.stringify(task)))).toBe(true);
    const [task] = seedTasks(0);
    expect(isTask({ ...task, status: 'lost' })).toBe(false);
    expect(isTask({ ...task, id: '../1' })).toBe(false);
    expect(isTask({ ...task, visibleTo: [1] })).toBe(false);
    expect(isTask({ ...task, updatedAt: 'now' })).toBe(false);
  });
});
