import { describeRepositoryFilter } from '../audit/select.js';
import type { ApplyResult } from '../prune/outcome.js';
import type { PrunePlan } from '../prune/plan.js';
import { csv, fitText, json, printable, table, yesNo, type Format } from './format.js';

export const STOP_THE_WORLD_ADVICE = [
  'Prune while the registry is stopped or in read-only mode (maintenance.readonly.enabled: true):',
  'a push in progress looks exactly like an empty repository. Afterwards run',
  '"regaudit gc" (or "registry garbage-collect") to free the blobs, then restart the',
  'registry so its in-memory blob descriptor cache forgets what was removed.',
].join('\n');

export interface PruneView {
  root: string;
  applied: boolean;
  /** --repository/--exclude globs when the plan was narrowed to matching repositories, else null. */
  filter?: { repositories: string[]; exclude: string[] } | null;
  plan: PrunePlan;
  result?: ApplyResult;
  /** The index's prune_runs id of this run (`regaudit journal --run N`). */
  journalRun?: number;
  /** With --quarantine: the directory, and the batch this run moved parts into. */
  quarantine?: { dir: string; batch?: { path: string; resumed: boolean } | undefined };
}

/** The JSON contract of `prune --format json` (documented in the README). */
export function pruneJson(v: PruneView): unknown {
  const repos = v.result?.repositories ?? v.plan.repositories.map((r) => ({ ...r, deleted: false }));
  return {
    root: v.root,
    applied: v.applied,
    filter: v.filter ?? null,
    repositories: repos.map((r) => ({
      name: r.name,
      action: r.action,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.detail ? { detail: r.detail } : {}),
      deleted: r.deleted,
      ...('quarantined' in r && r.quarantined ? { quarantined: r.quarantined } : {}),
      layerLinks: r.layerLinks,
      uploads: r.uploads,
      listedByV2: r.listedByV2,
      listedByV3: r.listedByV3,
    })),
    cleanup: (v.result?.cleanup ?? v.plan.cleanup.map((c) => ({ ...c, done: false }))).map((c) => ({
      path: c.path,
      action: c.action,
      reason: c.reason,
      done: c.done,
      ...('detail' in c && c.detail ? { detail: c.detail } : {}),
    })),
    ...(v.quarantine
      ? {
          quarantine: {
            dir: v.quarantine.dir,
            batch: v.quarantine.batch?.path ?? null,
            resumed: v.quarantine.batch?.resumed ?? false,
          },
        }
      : {}),
    ...(v.journalRun !== undefined ? { journalRun: v.journalRun } : {}),
    advice: STOP_THE_WORLD_ADVICE.replace(/\n/g, ' '),
  };
}

export function renderPrune(v: PruneView, format: Format): string {
  if (format === 'json') return json(pruneJson(v));
  const data = pruneJson(v) as {
    repositories: Array<Record<string, unknown>>;
    cleanup: Array<Record<string, unknown>>;
  };
  if (format === 'csv') {
    return csv(
      ['name', 'action', 'reason', 'deleted', 'layerLinks', 'uploads', 'listedByV2', 'listedByV3', 'detail'],
      data.repositories.map(
        (r) =>
          [
            r.name,
            r.action,
            r.reason,
            r.deleted,
            r.layerLinks,
            r.uploads,
            r.listedByV2,
            r.listedByV3,
            r.detail,
          ] as string[],
      ),
    );
  }
  const toDelete = data.repositories.filter((r) => r.action === 'delete').length;
  const verb = v.quarantine ? 'quarantined' : 'deleted';
  const head = v.applied
    ? `Pruned ${printable(v.root)}: ${data.repositories.filter((r) => r.deleted).length} repositories ${verb}.`
    : `Dry run on ${printable(v.root)}: ${toDelete} repositories would be ${verb} (nothing changed; add --apply to ${v.quarantine ? 'quarantine' : 'delete'}).`;
  const lines = [head];
  if (v.filter)
    lines.push(
      `Plan ${printable(describeRepositoryFilter(v.filter))}: only matching repositories, and leftovers inside them, were considered.`,
    );
  if (v.quarantine?.batch)
    lines.push(
      `Quarantine batch: ${printable(v.quarantine.batch.path)}${v.quarantine.batch.resumed ? ' (resumed: a killed prune left it unfinished)' : ''}; undo with "regaudit restore ${printable(v.quarantine.batch.path)}".`,
    );
  else if (v.quarantine) lines.push(`Quarantine directory: ${printable(v.quarantine.dir)}.`);
  if (data.repositories.length) {
    lines.push(
      table(
        ['repository', 'action', 'reason', 'layer links', 'uploads', 'listed 2.x', 'listed 3.x'],
        data.repositories.map((r) => [
          printable(String(r.name)),
          v.applied && r.deleted ? verb : String(r.action),
          printable(typeof r.reason === 'string' ? r.reason : ''),
          Number(r.layerLinks),
          Number(r.uploads),
          yesNo(Boolean(r.listedByV2)),
          yesNo(Boolean(r.listedByV3)),
        ]),
      ),
    );
  } else lines.push(`No empty repositories${v.filter ? ' among the matching ones' : ''}.`);
  if (data.cleanup.length) {
    lines.push(
      table(
        ['leftover', 'action', 'reason'],
        data.cleanup.map((c) => [
          printable(String(c.path)),
          v.applied ? (c.done ? 'removed' : 'kept') : String(c.action),
          String(c.reason),
        ]),
      ),
    );
  }
  if (v.applied && v.journalRun !== undefined)
    lines.push(`Journal: run ${v.journalRun} in the index ("regaudit journal --run ${v.journalRun}").`);
  lines.push('', STOP_THE_WORLD_ADVICE);
  return fitText(`${lines.join('\n')}\n`);
}
