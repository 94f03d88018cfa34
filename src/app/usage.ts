import { repositoryUsage, tagUsage, usageTotals } from '../index/usage.js';
import type { Format } from '../report/format.js';
import { renderUsage, sortUsage, type UsageBy, type UsageRow } from '../report/usage.js';
import { withSession, type SessionOptions } from './session.js';

export interface UsageOptions extends SessionOptions {
  format: Format;
  by: UsageBy;
  sort?: string;
  top?: number;
}

/** Disk usage per repository or per tag, with the totals that add up to blobs/ exactly. */
export async function runUsage(opts: UsageOptions): Promise<{ output: string }> {
  return withSession(opts, (s) => {
    const { totals, rows } = s.guard<{ totals: ReturnType<typeof usageTotals>; rows: UsageRow[] }>(() => ({
      totals: usageTotals(s.db, s.scan.id),
      rows: opts.by === 'tag' ? tagUsage(s.db, s.scan.id) : repositoryUsage(s.db, s.scan.id),
    }));
    const sorted = sortUsage(rows, opts.by, opts.sort, opts.top);
    const scannedAt = new Date(s.scan.finishedMs ?? s.scan.startedMs).toISOString();
    return {
      output: renderUsage(
        {
          root: s.scan.root,
          scannedAt,
          totals,
          by: opts.by,
          sort: sorted.sort,
          top: opts.top ?? null,
          rows: sorted.rows,
        },
        opts.format,
      ),
    };
  });
}
