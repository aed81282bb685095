/** Copies every chunk written to stdout (the logger's stream) into `lines`, still writing it through; returns the restore function. */
export const teeStdout = (lines: string[]): (() => void) => {
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
  };
};
