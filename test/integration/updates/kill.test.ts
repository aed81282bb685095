/**
 * A worker process killed (SIGKILL) in the middle of a batch loses nothing:
 * its messages come back after the visibility timeout, and a fresh worker
 * finishes the job without pushing any recorded state again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { subscriptionStore } from '#adapters/dynamo/factory.js';
import { publishChange, type Rig, runUntil, startRig } from './rig.js';

let rig: Rig;
let child: ChildProcess | undefined;

beforeAll(async () => {
  rig = await startRig({ env: { COALESCE_WINDOW_SECONDS: '1' }, visibilityTimeoutSeconds: 3, maxReceiveCount: 5 });
}, 20_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await rig?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('worker killed mid-batch', () => {
  it('loses no update', async () => {
    const N = 12;
    const uri = rig.taskUrl('1');
    const sims: string[] = [];
    for (let i = 0; i < N; i++) {
      const { simConnectionId } = await rig.connect(`conn-k${i}`, 'u-alice', [uri]);
      sims.push(simConnectionId);
      await rig.subscribe('task:1', `conn-k${i}`, uri);
    }
    // Every PATCH takes 500 ms, so the kill lands while pushes are in flight.
    rig.sim.simulator.configure({ api: { faults: { slowRate: 1, slowMs: 500 } } });

    // One process (tsx as a loader, not its CLI, which would run the worker in a grandchild).
    child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/updates/worker-process.ts'], {
      env: { ...process.env, RIG_ENV: JSON.stringify({ ...rig.env, LOG_LEVEL: 'SILENT' }) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child?.stdout?.on('data', (d: Buffer) => d.toString().includes('worker ready') && resolve());
      child?.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    });

    await rig.product.editTask('1', 'u-alice', { title: 'Edited before the crash' });
    await publishChange(rig, 'task:1');
    const patchCalls = () => rig.sim.simulator.stats().patchCalls;
    const deadline = Date.now() + 15_000;
    while (patchCalls() < 3 && Date.now() < deadline) await sleep(20);
    expect(patchCalls()).toBeGreaterThanOrEqual(3);
    child.kill('SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));
    const atKill = patchCalls();
    expect(atKill).toBeLessThan(N);

    rig.sim.simulator.configure({ api: { faults: { slowRate: 0 } } });
    const handler = rig.newHandler();
    const recorded = async () => {
      const subs = await subscriptionStore(rig.config).listByResource('task:1');
      return subs.items.length === N && subs.items.every((s) => s.contentHash !== undefined);
    };
    await runUntil(rig, handler, recorded, 20_000);

    const stats = rig.sim.simulator.stats().connections.filter((c) => sims.includes(c.connectionId));
    for (const c of stats) {
      expect(c.byStatus[200] ?? 0).toBeGreaterThanOrEqual(1);
      // At most the push that was in flight when the process died is repeated.
      expect(c.byStatus[200] ?? 0).toBeLessThanOrEqual(2);
    }
    const previews = sims.map(
      (id) => rig.sim.simulator.session(rig.sim.simulator.connection(id)?.sessionId ?? '')?.previews[0],
    );
    for (const p of previews) expect(JSON.stringify(p?.card)).toContain('Edited before the crash');
  }, 28_000);
});
