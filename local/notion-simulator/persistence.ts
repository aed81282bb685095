/**
 * The simulated Notion's world kept across restarts of `npm start`: the
 * workspace (its id is part of every connection the service stored), the
 * users (playground sessions, found again by their cookie) with their
 * previews, the service's tokens each holds and their pending sign-ins, the
 * integration's connections with their Notion tokens, Notion's one-time codes
 * and the last accepted update per uri. So after a restart the playground shows
 * the same connection and previews, and the service's PATCHes with the tokens
 * it kept are accepted.
 *
 * Not kept: the protocol log, rate-limit windows, call counters and settings
 * changed at run time (those come from the environment again).
 *
 * A JSON snapshot is written (atomically, see local/state-dir.ts) shortly
 * after what a user sees changed or a protocol message was logged, and when
 * the simulator closes.
 */
import { renameSync } from 'node:fs';
import { jsonSnapshotter, readJsonFile, type Snapshotter } from '../state-dir.js';
import type { NotionSimulator } from './simulator.js';
import type { NotionCode, NotionConnection, Session, Workspace, World } from './world.js';

const VERSION = 1;

type KeptSession = Omit<Session, 'refreshing'>;

export interface WorldSnapshot {
  readonly version: typeof VERSION;
  readonly workspace: Workspace;
  readonly userCount: number;
  readonly sessions: readonly KeptSession[];
  readonly connections: readonly NotionConnection[];
  readonly codes: readonly NotionCode[];
  readonly lastPayloads: ReadonlyArray<readonly [string, unknown]>;
}

/** What the world holds, as plain JSON. */
export const snapshotWorld = (world: World): WorldSnapshot => ({
  version: VERSION,
  workspace: world.workspace,
  userCount: world.userCount,
  sessions: [...world.sessions.values()].map(({ refreshing: _inFlight, ...kept }) => kept),
  connections: [...world.connections.values()],
  codes: [...world.codes.values()],
  lastPayloads: [...world.lastPayloadByUri],
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';

/** A structural check of a snapshot read from disk (the simulator's own file, possibly from another version). */
export const isWorldSnapshot = (v: unknown): v is WorldSnapshot => {
  if (!isObject(v) || v.version !== VERSION) return false;
  const ws = v.workspace;
  if (!isObject(ws) || !isString(ws.id) || !isString(ws.name)) return false;
  if (typeof v.userCount !== 'number' || !Number.isInteger(v.userCount) || v.userCount < 0) return false;
  const arrays = [v.sessions, v.connections, v.codes, v.lastPayloads];
  if (!arrays.every(Array.isArray)) return false;
  const sessionsOk = (v.sessions as unknown[]).every(
    (s) => isObject(s) && isString(s.id) && isObject(s.user) && isString(s.user.id) && Array.isArray(s.previews),
  );
  const connectionsOk = (v.connections as unknown[]).every(
    (c) => isObject(c) && isString(c.id) && isString(c.accessToken) && isString(c.sessionId),
  );
  const codesOk = (v.codes as unknown[]).every((c) => isObject(c) && isString(c.code) && isString(c.sessionId));
  const payloadsOk = (v.lastPayloads as unknown[]).every((p) => Array.isArray(p) && p.length === 2 && isString(p[0]));
  return sessionsOk && connectionsOk && codesOk && payloadsOk;
};

/** Puts a snapshot's contents into a world built for the same workspace (replacing what it held). */
export const restoreWorld = (world: World, snapshot: WorldSnapshot): void => {
  if (snapshot.workspace.id !== world.workspace.id)
    throw new Error('restoreWorld: the world was built for another workspace than the snapshot');
  world.sessions.clear();
  world.connections.clear();
  world.codes.clear();
  world.tokens.clear();
  world.refreshTokens.clear();
  world.lastPayloadByUri.clear();
  world.userCount = snapshot.userCount;
  for (const s of snapshot.sessions) world.sessions.set(s.id, { ...s, previews: [...s.previews] });
  for (const c of snapshot.connections) {
    const connection: NotionConnection = { ...c, externalAccount: { ...c.externalAccount } };
    world.connections.set(c.id, connection);
    // Token indexes follow from the connections, as revokeConnection keeps them.
    if (connection.revokedAt !== undefined) continue;
    // An access token expired on purpose stays expired; its refresh token still works.
    if (connection.accessTokenExpiredAt === undefined) world.tokens.set(connection.accessToken, connection.id);
    if (connection.refreshToken) world.refreshTokens.set(connection.refreshToken, connection.id);
  }
  for (const code of snapshot.codes) world.codes.set(code.code, { ...code });
  for (const [uri, payload] of snapshot.lastPayloads) world.lastPayloadByUri.set(uri, payload);
};

export interface KeptWorld {
  /** The kept workspace, to build the simulator with (undefined: nothing kept yet). */
  readonly workspace: Workspace | undefined;
  /** Restores the kept state into the simulator and keeps its snapshot up to date until closed. */
  attach(simulator: NotionSimulator): Snapshotter;
}

/**
 * Reads the snapshot at `path`. A file that cannot be read as a snapshot is
 * moved aside (`<path>.unreadable`) with a warning, and the simulator starts empty.
 */
export const openKeptWorld = (path: string, warn: (message: string) => void = console.warn): KeptWorld => {
  let snapshot: WorldSnapshot | undefined;
  try {
    const read = readJsonFile(path);
    if (read !== undefined && !isWorldSnapshot(read)) throw new Error('not a snapshot of this simulator version');
    snapshot = read;
  } catch (error) {
    const aside = `${path}.unreadable`;
    renameSync(path, aside);
    warn(`Notion simulator: ignoring its kept state (${(error as Error).message}); moved it to ${aside}`);
  }
  return {
    workspace: snapshot?.workspace,
    attach(simulator) {
      if (snapshot) restoreWorld(simulator.world, snapshot);
      const keeper = jsonSnapshotter(path, () => snapshotWorld(simulator.world), {
        onError: (error) => warn(`Notion simulator: could not save its state to ${path}: ${(error as Error).message}`),
      });
      const schedule = () => keeper.schedule();
      simulator.world.events.on('session', schedule);
      simulator.log.on('entry', schedule);
      // The first snapshot fixes the workspace id (part of every connection the service stores).
      schedule();
      return {
        schedule,
        flush: () => keeper.flush(),
        async close() {
          simulator.world.events.off('session', schedule);
          simulator.log.off('entry', schedule);
          await keeper.close();
        },
      };
    },
  };
};
