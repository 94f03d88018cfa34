import type { WalkProgress } from '../scan/walk.js';

/** Progress on stderr, only on a terminal and never with --quiet, so JSON on stdout stays clean. */
export function progressReporter(quiet: boolean): ((p: WalkProgress) => void) | undefined {
  if (quiet || !process.stderr.isTTY) return undefined;
  const started = Date.now();
  return (p) => {
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? Math.round(p.files / secs) : 0;
    process.stderr.write(
      `\r\x1b[K${fitLine(`${p.phase}: ${p.files} files, ${p.dirs} dirs, ${p.repositories} repositories, ${rate} files/s, ${secs.toFixed(1)} s`, process.stderr.columns)}`,
    );
  };
}

export function endProgress(quiet: boolean): void {
  if (!quiet && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

/** One line that never wraps (a wrapped line cannot be cleared with \r): cut to the width minus one. */
export function fitLine(line: string, columns: number | undefined): string {
  const max = (columns ?? 80) - 1;
  return line.length <= max ? line : `${line.slice(0, Math.max(0, max - 1))}…`;
}
