import { humanBytes } from '../report/format.js';

export interface ByteProgress {
  bytes: number;
  totalBytes: number;
  blobs: number;
  totalBlobs: number;
}

/** Bytes done of total, rate and ETA on stderr; only on a terminal, never with --quiet, at most 10 times a second. */
export function byteProgressReporter(quiet: boolean, label: string): ((p: ByteProgress) => void) | undefined {
  if (quiet || !process.stderr.isTTY) return undefined;
  const started = Date.now();
  let shown = 0;
  return (p) => {
    const now = Date.now();
    if (now - shown < 100 && p.blobs < p.totalBlobs) return;
    shown = now;
    const secs = (now - started) / 1000;
    const rate = secs > 0 ? p.bytes / secs : 0;
    const eta = rate > 0 ? Math.max(0, (p.totalBytes - p.bytes) / rate) : NaN;
    const pct = p.totalBytes > 0 ? ((100 * p.bytes) / p.totalBytes).toFixed(1) : '100.0';
    process.stderr.write(
      `\r\x1b[K${label}: ${humanBytes(p.bytes)} of ${humanBytes(p.totalBytes)} (${pct}%), ${p.blobs}/${p.totalBlobs} blobs, ${humanBytes(rate)}/s, ETA ${Number.isFinite(eta) ? `${Math.ceil(eta)} s` : '?'}`,
    );
  };
}
