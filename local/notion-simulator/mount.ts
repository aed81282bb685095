/**
 * The simulator's two mounts on the local server: Notion's API and redirect
 * target under /notion, and the playground at / (prefix ""). Both share one
 * simulator per base URL; `simulatorFor(baseUrl)` hands it to tests that run
 * the whole local system.
 */
import { rulesFromConfig } from '#adapters/config/unfurl-rules.js';
import { ENV } from '#lib/env-names.js';
import { parseConfig } from '#shared/config.js';
import type { LocalMount, MountContext, MountFactory } from '../mount.js';
import { type Snapshotter, statePaths } from '../state-dir.js';
import { openKeptWorld } from './persistence.js';
import { settingsFromEnv } from './settings.js';
import { NotionSimulator } from './simulator.js';
import type { Workspace } from './world.js';

const instances = new Map<string, { simulator: NotionSimulator; users: number; kept?: Snapshotter }>();

const need = (env: Readonly<Record<string, string>>, name: string): string => {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`Notion simulator: missing setting ${name}`);
  return value;
};

/** Builds a simulator from the local runtime's settings (the same ones the service reads). */
export function simulatorFromEnv(
  env: Readonly<Record<string, string>>,
  baseUrl: string,
  extras: { readonly pushLog?: (line: string) => void; readonly workspace?: Workspace } = {},
): NotionSimulator {
  const config = parseConfig(env);
  return new NotionSimulator({
    ...(extras.pushLog ? { pushLog: extras.pushLog } : {}),
    baseUrl,
    integration: rulesFromConfig(config),
    notionClient: { clientId: need(env, ENV.NOTION_CLIENT_ID), clientSecret: need(env, ENV.NOTION_CLIENT_SECRET) },
    serviceClient: { clientId: need(env, ENV.OAUTH_CLIENT_ID), clientSecret: need(env, ENV.OAUTH_CLIENT_SECRET) },
    settings: settingsFromEnv(env, baseUrl),
    ...(extras.workspace ? { workspace: extras.workspace } : {}),
  });
}

const acquire = (context: MountContext): NotionSimulator => {
  const key = context.baseUrl.replace(/\/+$/, '');
  let entry = instances.get(key);
  if (!entry) {
    // With a data directory, the world of the last run comes back (persistence.ts).
    const keptWorld = context.dataDir ? openKeptWorld(statePaths(context.dataDir).notionSimulator) : undefined;
    const log = context.log;
    const simulator = simulatorFromEnv(context.env, key, {
      ...(log ? { pushLog: (line: string) => log('info', `[notion] ${line}`) } : {}),
      ...(keptWorld?.workspace ? { workspace: keptWorld.workspace } : {}),
    });
    entry = { simulator, users: 0, ...(keptWorld ? { kept: keptWorld.attach(simulator) } : {}) };
    instances.set(key, entry);
  }
  entry.users += 1;
  return entry.simulator;
};

const release = async (context: MountContext): Promise<void> => {
  const key = context.baseUrl.replace(/\/+$/, '');
  const entry = instances.get(key);
  if (!entry) return;
  entry.users -= 1;
  if (entry.users <= 0) {
    instances.delete(key);
    // A last save that fails is reported, and the simulator closes all the same.
    try {
      await entry.kept?.close();
    } finally {
      await entry.simulator.close();
    }
  }
};

/** The simulator serving `baseUrl` in this process, if the local system mounted one. */
export function simulatorFor(baseUrl: string): NotionSimulator | undefined {
  return instances.get(baseUrl.replace(/\/+$/, ''))?.simulator;
}

/** Notion's API (`/notion/v1/...`) and Notion's redirect_uri (`/notion/externalintegrationauthcallback`). */
export const createMount: MountFactory = async (context) => {
  const simulator = acquire(context);
  const mount: LocalMount = {
    name: 'notion-simulator',
    prefix: '/notion',
    handle: (req, res) => simulator.handleNotion(req, res),
    urls: [
      { label: 'Notion API (simulated)', path: '/notion/v1' },
      { label: 'Notion redirect_uri', path: '/notion/externalintegrationauthcallback' },
    ],
    health: async () => true,
    close: () => release(context),
  };
  return mount;
};

/** The playground: paste a link, sign in, watch the card (prefix "", so it also answers `/`). */
export const createPlaygroundMount: MountFactory = async (context) => {
  const simulator = acquire(context);
  const mount: LocalMount = {
    name: 'notion-playground',
    prefix: '',
    handle: (req, res) => simulator.handlePlayground(req, res),
    owns: (path) => simulator.ownsPlaygroundPath(path),
    urls: [{ label: 'Playground (Notion simulator)', path: '/' }],
    health: async () => true,
    close: () => release(context),
  };
  return mount;
};
