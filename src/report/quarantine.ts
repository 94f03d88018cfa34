/** Output of `restore`, `quarantine list|purge` and `journal`. */
import type { PruneActionRow, PruneRunRow } from '../index/journal.js';
import type { BatchInfo, PurgeDecision } from '../prune/batches.js';
import type { RestoreResult } from '../prune/restore.js';
import { humanBytes as bytes, json, printable, table, type Format } from './format.js';

export const RESTART_ADVICE =
  'Restart the registry (or wait for it to be restarted) so its blob descriptor cache sees the restored repositories.';

const iso = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString());

export function renderRestore(r: RestoreResult, format: Format): string {
  if (format === 'json') return json({ ...r, advice: RESTART_ADVICE });
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

export function renderBatches(dir: string, batches: BatchInfo[], format: Format): string {
  if (format === 'json') return json({ dir, batches });
  if (batches.length === 0) return `No quarantine batches in ${printable(dir)}.\n`;
  return `${table(['batch', 'status', 'created', 'repositories', 'files', 'size', 'root'], batches.map(batchRow))}\n`;
}

export function renderPurge(dir: string, decisions: PurgeDecision[], applied: boolean, format: Format): string {
  if (format === 'json') return json({ dir, applied, batches: decisions });
  const n = decisions.filter((d) => d.action === 'purge').length;
  const head = applied
    ? `Purged ${decisions.filter((d) => d.done).length} batches from ${printable(dir)}.`
    : `Dry run: ${n} batches in ${printable(dir)} would be purged (nothing changed; --apply purges them).`;
  if (decisions.length === 0) return `${head}\n`;
  const rows = decisions.map((d) => [
    printable(d.name),
    d.status ?? 'not a batch',
    applied ? (d.done ? 'purged' : 'kept') : d.action,
    printable(d.reason),
  ]);
  return `${head}\n${table(['batch', 'status', 'action', 'reason'], rows)}\n`;
}

export function renderRuns(runs: PruneRunRow[], format: Format): string {
  if (format === 'json') return json({ runs });
  if (runs.length === 0) return 'No prune runs in this index.\n';
  const rows = runs.map((r) => [
    r.id,
    iso(r.startedMs),
    r.mode,
    r.status,
    r.planned,
    r.done,
    r.toolVersion,
    printable(r.quarantineBatch ?? ''),
    printable(r.root),
  ]);
  return `${table(['run', 'started', 'mode', 'status', 'planned', 'done', 'version', 'quarantine', 'root'], rows)}\n`;
}

export function renderRun(run: PruneRunRow, actions: PruneActionRow[], format: Format): string {
  if (format === 'json') return json({ run, actions });
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
  return `${head}\n${table(['#', 'kind', 'target', 'planned', 'reason', 'outcome', 'at', 'detail'], rows)}\n`;
}
