/**
 * The whole local system for integration tests, on an OS-assigned port:
 *
 *   const system = useLocalSystem();            // in a describe block
 *   await fetch(`${system().baseUrl}/healthz`);
 *
 * or, without jest hooks: `const s = await startTestSystem(); … await s.stop();`
 */
import { afterAll, beforeAll } from '@jest/globals';
import { type LocalSystem, type LocalSystemOptions, startLocalSystem } from '#local/system.js';
import { runLogLevel } from '#test/helpers/output.js';

/** Only the runtime's errors are printed (e.g. a handler that threw), the handlers' log lines at the run's level, and the long poll is short, unless told otherwise. */
export const startTestSystem = (options: LocalSystemOptions = {}): Promise<LocalSystem> =>
  startLocalSystem({
    port: 0,
    workerWaitSeconds: 1,
    log: (level, message, detail) => {
      if (level === 'error') console.error(message, detail ?? '');
    },
    ...options,
    env: { LOG_LEVEL: runLogLevel(), ...options.env },
  });

/** Starts the system before the tests of the enclosing block and stops it after them. */
export const useLocalSystem = (options: LocalSystemOptions = {}, timeoutMs = 30_000): (() => LocalSystem) => {
  let system: LocalSystem | undefined;
  beforeAll(async () => {
    system = await startTestSystem(options);
  }, timeoutMs);
  afterAll(async () => {
    await system?.stop();
  }, timeoutMs);
  return () => {
    if (!system) throw new Error('The local system has not started (is useLocalSystem() inside a describe block?)');
    return system;
  };
};
