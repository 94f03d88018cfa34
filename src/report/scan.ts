import type { ScanResult } from '../scan/run.js';

/** `scan --format json`: what was scanned, and for object storage the requests it took by kind. */
export function renderScan(r: ScanResult, dbFile: string): string {
  return `${JSON.stringify(
    {
      root: r.root.v2,
      storage: r.requests ? 's3' : 'filesystem',
      index: dbFile,
      scanId: r.scanId,
      repositories: r.repositories,
      files: r.files,
      elapsedMs: r.elapsedMs,
      incremental: r.incremental !== undefined,
      requests: r.requests ?? null,
      manifests: r.manifests ?? null,
    },
    null,
    2,
  )}\n`;
}
