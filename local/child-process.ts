/**
 * A helper process of the local runtime or the benchmark (dynalite in a
 * process of its own, the benchmark's demo product): forked with an IPC
 * channel, ready once it sends its first message. The child exits when the
 * parent goes (it listens for 'disconnect').
 */
import { type ChildProcess, fork } from 'node:child_process';

export interface ReadyChild<M> {
  /** The first message the child sent (e.g. the port it listens on). */
  readonly message: M;
  /** The child itself, e.g. to exchange further messages with it. */
  readonly process: ChildProcess;
  /** Ends the child and waits until it has exited. */
  stop(): Promise<void>;
}

export const forkUntilReady = <M>(
  file: string,
  what: string,
  options: { readonly env?: Record<string, string | undefined>; readonly execArgv?: string[] } = {},
): Promise<ReadyChild<M>> =>
  new Promise((resolve, reject) => {
    const child = fork(file, [], {
      env: { ...process.env, ...options.env },
      ...(options.execArgv ? { execArgv: options.execArgv } : {}),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
    };
    const fail = (error: Error) => reject(new Error(`${what} did not start: ${error.message}`));
    const onExit = (code: number | null) => fail(new Error(`exit code ${code}`));
    child.once('error', fail);
    child.once('exit', onExit);
    child.once('message', (message: M) => {
      child.off('exit', onExit);
      child.off('error', fail);
      resolve({ message, process: child, stop });
    });
  });
