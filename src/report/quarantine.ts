/** Output of `restore`, `quarantine list|purge` and `journal`. */
import type { GcRunRow, JournalRunRow, PruneActionRow, PruneRunRow } from '../index/journal.js';
import type { BatchInfo, PurgeDecision } from '../prune/batches.js';
import type { RestoreResult } from '../prune/restore.js';
import { csv, humanBytes as bytes, json, printable, table, type Format } from './format.js';

export const RESTART_ADVICE =
  'Restart the registry (or wait for it to be restarted) so its blob descriptor cache sees the restored repositories.';

const iso = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString());

export function renderRestore(r: RestoreResult, format: Format): string {
  if (format === 'json') return json({ ...r, advice: RESTART_ADVICE });
  if (format === 'csv')
    return csv(
      ['repository', 'parts'],
      r.repositories.map((x) => [x.name, x.parts.join(' ')]),
    );
  const lines = [
    `Restored ${r.repositories.length} repositories from ${printable(r.batch)} into ${printable(r.root)}; ${r.recreated.length} directories re-created, ${r.redated} modification times set back.`,
  ];
  if (r.repositories.length)
    lines.push(
      table(
        ['repository', 'parts'],
        r.repositories.map((x) => [printable(x.name), x.parts.join(' ')]),
      ),
    );
  lines.push('', RESTART_ADVICE);
  return `${lines.join('\n')}\n`;
}

function batchRow(b: BatchInfo): Array<string | number> {
  return [
    printable(b.name),
    b.status ?? 'not a batch',
    b.createdAt ?? '',
    b.repositories,
    b.files,
    bytes(b.bytes),
    printable(b.root ?? b.problem ?? ''),
  ];
}

/** A list as CSV (every row, no heading text) or as a table. */
function tabular(format: Format, head: string[], rows: Array<Array<string | number>>): string {
  return format === 'csv' ? csv(head, rows) : `${table(head, rows)}\n`;
}

/** Epoch-millisecond fields (`startedMs`) as ISO 8601 (`startedAt`), for JSON. */
function isoTimes<T extends object>(row: T): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) =>
      k.endsWith('Ms') ? [`${k.slice(0, -2)}At`, typeof v === 'number' ? new Date(v).toISOString() : null] : [k, v],
    ),
  );
}

export function renderBatches(dir: string, batches: BatchInfo[], format: Format): string {
  if (format === 'json') return json({ dir, batches });
  if (batches.length === 0 && format !== 'csv') return `No quarantine batches in ${printable(dir)}.\n`;
  return tabular(
    format,
    ['batch', 'status', 'created', 'repositories', 'files', 'size', 'root'],
    batches.map(batchRow),
  );
}

export function renderPurge(dir: string, decisions: PurgeDecision[], applied: boolean, format: Format): string {
  if (format === 'json') return json({ dir, applied, batches: decisions });
  const n = decisions.filter((d) => d.action === 'purge').length;
  const head = applied
    ? `Purged ${decisions.filter((d) => d.done).length} batches from ${printable(dir)}.`
    : `Dry run: ${n} batches in ${printable(dir)} would be purged (nothing changed; --apply purges them).`;
  if (decisions.length === 0 && format !== 'csv') return `${head}\n`;
  const rows = decisions.map((d) => [
    printable(d.name),
    d.status ?? 'not a batch',
    applied ? (d.done ? 'purged' : 'kept') : d.action,
    printable(d.reason),
  ]);
  const columns = ['batch', 'status', 'action', 'reason'];
  return format === 'csv' ? csv(columns, rows) : `${head}\n${tabular(format, columns, rows)}`;
}

/** The columns every journal run shows, around its own in the middle. */
function runCells(r: JournalRunRow, own: Array<string | number>): Array<string | number> {
  return [r.id, iso(r.startedMs), ...own, printable(r.quarantineBatch ?? ''), printable(r.root)];
}

export function renderRuns(runs: PruneRunRow[], format: Format, gcRuns: GcRunRow[] = []): string {
  if (format === 'json') return json({ runs: runs.map(isoTimes), gcRuns: gcRuns.map(isoTimes) });
  const head = (own: string[]): string[] => ['run', 'started', ...own, 'quarantine', 'root'];
  const prune =
    runs.length === 0 && format !== 'csv'
      ? 'No prune runs in this index.\n'
      : tabular(
          format,
          head(['mode', 'status', 'planned', 'done', 'version']),
          runs.map((r) => runCells(r, [r.mode, r.status, r.planned, r.done, r.toolVersion])),
        );
  // CSV is one table: the prune runs, as before; gc runs are in the table and JSON forms.
  if (format === 'csv') return prune;
  const gc =
    gcRuns.length === 0
      ? 'No gc runs in this index.\n'
      : `gc runs:\n${tabular(
          format,
          head(['mode', 'status', 'planned', 'done', 'skipped', 'freed']),
          gcRuns.map((r) => runCells(r, [r.mode, r.status, r.planned, r.done, r.skipped, bytes(r.bytesFreed)])),
        )}`;
  return `${prune}${gc}`;
}

export function renderRun(run: PruneRunRow, actions: PruneActionRow[], format: Format): string {
  if (format === 'json') return json({ run: isoTimes(run), actions: actions.map(isoTimes) });
  const head = `Prune run ${run.id}: ${run.mode}, ${run.status}${run.error ? ` (${printable(run.error)})` : ''}, regaudit ${run.toolVersion}, pid ${run.pid} on ${printable(run.host)}, ${iso(run.startedMs)} → ${iso(run.finishedMs) || '(not finished)'}\nRoot: ${printable(run.root)}${run.quarantineBatch ? `\nQuarantine: ${printable(run.quarantineBatch)}` : ''}`;
  const rows = actions.map((a) => [
    a.seq,
    a.kind,
    printable(a.target),
    a.planned,
    a.reason ?? '',
    a.outcome ?? '(not reached)',
    iso(a.doneMs),
    printable(a.outcomeDetail ?? a.detail ?? ''),
  ]);
  const columns = ['#', 'kind', 'target', 'planned', 'reason', 'outcome', 'at', 'detail'];
  return format === 'csv' ? csv(columns, rows) : `${head}\n${tabular(format, columns, rows)}`;
}
