/**
 * A simulator on a server of its own (127.0.0.1, OS-assigned port by default),
 * for tests and benchmarks that point NOTION_API_BASE_URL at it without the
 * rest of the local system.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SimulatorSettings } from './settings.js';
import { defaultSettings } from './settings.js';
import type { SimulatorOptions } from './simulator.js';
import { NotionSimulator } from './simulator.js';

export interface StartedSimulator {
  readonly baseUrl: string;
  /** `${baseUrl}/notion`, the value for NOTION_API_BASE_URL. */
  readonly apiBaseUrl: string;
  readonly simulator: NotionSimulator;
  stop(): Promise<void>;
}

export type StartOptions = Omit<SimulatorOptions, 'baseUrl' | 'settings'> & {
  readonly port?: number;
  /** Changes to the default settings (the service base URL defaults to the simulator's own). */
  readonly settings?: (defaults: SimulatorSettings) => SimulatorSettings;
};

export async function startNotionSimulator(options: StartOptions): Promise<StartedSimulator> {
  let simulator: NotionSimulator | undefined;
  const server = createServer((req, res) => {
    const sim = simulator;
    if (!sim) {
      res.writeHead(503).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    void (path === '/notion' || path.startsWith('/notion/')
      ? sim.handleNotion(req, res)
      : sim.handlePlayground(req, res));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const settings = options.settings ? options.settings(defaultSettings(baseUrl)) : defaultSettings(baseUrl);
  simulator = new NotionSimulator({ ...options, baseUrl, settings });
  const sim = simulator;
  return {
    baseUrl,
    apiBaseUrl: `${baseUrl}/notion`,
    simulator: sim,
    async stop() {
      await sim.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
