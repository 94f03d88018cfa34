import { repositoryUsage, tagUsage, usageTotals } from '../index/usage.js';
import type { Format } from '../report/format.js';
import { renderUsageChunks, sortUsage, type UsageBy, type UsageRow } from '../report/usage.js';
import { repositoryFilterOf, repositorySelected, type Selection } from '../audit/select.js';
import { withSession, type SessionOptions } from './session.js';

export interface UsageOptions extends SessionOptions {
  format: Format;
  by: UsageBy;
  sort?: string;
  top?: number;
  /** --repository, --exclude: which repositories' rows are listed (the blobs/ totals stay whole). */
  selection?: Selection;
}

/** Disk usage per repository or per tag, with the totals that add up to blobs/ exactly. */
export async function runUsage(opts: UsageOptions): Promise<{ output: Iterable<string> }> {
  return withSession(opts, (s) => {
    const { totals, rows } = s.guard<{ totals: ReturnType<typeof usageTotals>; rows: UsageRow[] }>(() => ({
      totals: usageTotals(s.db, s.scan.id),
      rows: opts.by === 'tag' ? tagUsage(s.db, s.scan.id) : repositoryUsage(s.db, s.scan.id),
    }));
    const sel = opts.selection ?? {};
    const selected = rows.filter((r) => repositorySelected(r.repository, sel));
    const sorted = sortUsage(selected, opts.by, opts.sort, opts.top);
    const scannedAt = new Date(s.scan.finishedMs ?? s.scan.startedMs).toISOString();
    return {
      output: renderUsageChunks(
        {
          root: s.scan.root,
          scannedAt,
          totals,
          by: opts.by,
          sort: sorted.sort,
          top: opts.top ?? null,
          filter: repositoryFilterOf(sel),
          rows: sorted.rows,
        },
        opts.format,
      ),
    };
  });
}
