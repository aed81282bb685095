/**
 * CPU placement for the request-path benchmark. A Lambda function has its
 * vCPU to itself: DynamoDB and the team's product run on other machines and
 * never take the function's CPU time. On a small machine the local stand-ins
 * (dynalite, the demo product) and the benchmark's own process would otherwise
 * be scheduled onto the handler's core while it runs, and their work would show
 * up as the handler's latency. So, where `taskset` (util-linux) is available
 * and there are at least two CPUs, the handler host gets CPU 0 and every other
 * process of the run (this one and its children, autocannon included) the
 * remaining CPUs, while a handler host runs. Elsewhere nothing is pinned,
 * and the report says so.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

export interface Placement {
  /** False when the processes were left to the scheduler (no taskset, or a single CPU). */
  readonly pinned: boolean;
  /** CPU list of the handler host (taskset syntax), when pinned. */
  readonly functionCpus?: string;
  /** CPU list of everything else, when pinned. */
  readonly servicesCpus?: string;
}

const taskset = (cpus: string, pid: number): boolean => {
  try {
    // -a: every thread of the process (V8's helpers and libuv's pool exist before the call).
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Live child processes of `parent`, read from /proc (Linux). */
const childrenOf = (parent: number): number[] => {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid …: the command name may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
};

/**
 * Gives `functionPid` CPU 0 and this process and its other children the rest.
 * Returns what was done and a function that undoes it (every process back on every CPU).
 */
export const placeForMeasurement = (functionPid: number): { placement: Placement; release(): void } => {
  const count = os.availableParallelism();
  const all = `0-${count - 1}`;
  const services = count === 2 ? '1' : `1-${count - 1}`;
  const others = () => [process.pid, ...childrenOf(process.pid).filter((pid) => pid !== functionPid)];
  const unpinned = { placement: { pinned: false }, release: () => undefined };
  if (count < 2 || !taskset('0', functionPid)) return unpinned;
  for (const pid of others()) taskset(services, pid);
  return {
    placement: { pinned: true, functionCpus: '0', servicesCpus: services },
    release: () => {
      for (const pid of others()) taskset(all, pid);
    },
  };
};
