/**
 * Records every chunk written to stdout (the logger's stream) into `lines` instead of printing it, so
 * that a test which reads the logs keeps the run's output readable; returns the restore function.
 */
export const captureStdout = (lines: string[]): (() => void) => {
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    const done = rest.find((r): r is () => void => typeof r === 'function');
    done?.();
    return true;
  }) as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
  };
};
