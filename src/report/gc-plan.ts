/** `regaudit gc` output: the plan (and with --apply what happened), as a table, JSON or CSV. */
import type { GcApplyResult, GcItemResult } from '../reclaim/apply.js';
import type { GcRestoreResult } from '../reclaim/batch.js';
import type { GcPlan } from '../reclaim/plan.js';
import { csv, csvChunks, humanBytes, json, jsonChunks, printable, table, type Format } from './format.js';

export const GC_ADVICE = [
  'Collect while the registry is stopped or in read-only mode (maintenance.readonly.enabled: true):',
  'a push in progress uploads and links its blobs before its manifest holds them. Afterwards restart',
  'the registry so its in-memory blob descriptor cache forgets what was removed.',
].join('\n');

export interface GcView {
  root: string;
  scannedAt: string;
  applied: boolean;
  plan: GcPlan;
  result?: GcApplyResult;
  /** With --quarantine: the batch the items went into. */
  batch?: string;
  /** With --apply: the run's id in the index journal (`regaudit journal`). */
  journalRun?: number;
  /** On object storage with --apply: the apply's requests by kind (LIST, GET, HEAD, PUT, COPY, DELETE). */
  requests?: Record<string, number>;
}

/** The plan's items, held or computed again from the index as they are written (GcPlan.each). */
function* planItems(v: GcView): Generator<Record<string, string | number>> {
  const outcomes = new Map<string, GcItemResult>((v.result?.items ?? []).map((r) => [r.path, r]));
  for (const i of v.plan.each?.() ?? v.plan.items) {
    const o = outcomes.get(i.path);
    yield {
      kind: i.kind,
      path: i.path,
      ...(i.repository !== undefined ? { repository: i.repository } : {}),
      ...(i.digest !== undefined ? { digest: i.digest } : {}),
      bytes: i.bytes,
      reason: i.reason,
      ...(o ? { outcome: o.outcome, ...(o.detail !== undefined ? { detail: o.detail } : {}) } : {}),
    };
  }
}

/** The JSON contract of `gc --format json` (README, "Reclaiming space"); `items` is written last, as it is computed. */
export function gcJson(v: GcView): Record<string, unknown> {
  const skipped = (v.result?.items ?? []).filter((r) => r.outcome === 'skipped');
  return {
    root: v.root,
    scannedAt: v.scannedAt,
    applied: v.applied,
    mode: !v.applied ? 'dry-run' : v.batch !== undefined ? 'quarantine' : 'delete',
    deleteUntagged: v.plan.deleteUntagged,
    blocked: v.plan.blocked,
    totals: v.plan.totals,
    repositories: v.plan.repositories,
    ...(v.result
      ? {
          result: {
            bytesFreed: v.result.bytesFreed,
            done: v.result.items.length - skipped.length,
            skipped: skipped.length,
          },
        }
      : {}),
    ...(v.batch !== undefined ? { batch: v.batch } : {}),
    ...(v.journalRun !== undefined ? { journalRun: v.journalRun } : {}),
    ...(v.requests !== undefined ? { requests: v.requests } : {}),
    advice: GC_ADVICE.replace(/\n/g, ' '),
    kept: v.plan.kept,
    items: planItems(v),
  };
}

export function renderGc(v: GcView, format: Format): string {
  return [...renderGcChunks(v, format)].join('');
}

/** The output in the pieces it is written in: JSON and CSV a batch of items at a time. */
export function renderGcChunks(v: GcView, format: Format): Iterable<string> {
  if (format === 'json') return jsonChunks(gcJson(v), 'items');
  if (format === 'csv') {
    const rows = function* (): Generator<Array<string | number | undefined>> {
      for (const i of planItems(v))
        yield [i.kind, i.path, i.repository, i.digest, i.bytes, i.reason, i.outcome, i.detail];
    };
    return csvChunks(['kind', 'path', 'repository', 'digest', 'bytes', 'reason', 'outcome', 'detail'], rows());
  }
  return [renderGcTable(v)];
}

function renderGcTable(v: GcView): string {
  const t = v.plan.totals;
  const verb = v.batch !== undefined ? 'quarantined' : 'deleted';
  const lines: string[] = [];
  const what = `${t.blobs} blobs (${humanBytes(t.blobBytes)}), ${t.manifests} untagged manifests, ${t.layerLinks} layer links, ${t.uploads} stale uploads (${humanBytes(t.uploadBytes)}), ${t.repositories} empty repositories`;
  if (!v.applied)
    lines.push(
      `Dry run on ${printable(v.root)} (scanned ${v.scannedAt}): would remove ${what}; ${humanBytes(t.bytes)} freed (nothing changed; add --apply).`,
    );
  else {
    const r = v.result!;
    const skipped = r.items.filter((i) => i.outcome === 'skipped');
    lines.push(
      `Collected ${printable(v.root)}: ${r.items.length - skipped.length} items ${verb}, ${humanBytes(r.bytesFreed)} freed; ${skipped.length} skipped.`,
    );
    if (v.batch !== undefined)
      lines.push(`Quarantine batch: ${printable(v.batch)}; undo with "regaudit restore ${printable(v.batch)}".`);
    for (const s of skipped.slice(0, 20)) lines.push(`  skipped ${printable(s.path)}: ${printable(s.detail ?? '')}`);
    if (skipped.length > 20) lines.push(`  … and ${skipped.length - 20} more (--format json lists them)`);
  }
  if (v.plan.blocked.length > 0) {
    lines.push(
      `Nothing will be deleted: part of the storage could not be read, and it may reference any blob (--apply refuses):`,
    );
    lines.push(
      table(
        ['where', 'why'],
        v.plan.blocked.map((b) => [printable(b.where), printable(b.why)]),
      ),
    );
  }
  if (v.plan.repositories.length > 0)
    lines.push(
      table(
        ['repository', 'untagged manifests', 'layer links', 'uploads', 'repository deleted', 'bytes'],
        v.plan.repositories.map((r) => [
          printable(r.name),
          r.manifests,
          r.layerLinks,
          r.uploads,
          r.deleted ? 'yes' : 'no',
          humanBytes(r.bytes),
        ]),
      ),
    );
  const shared = t.blobBytes - v.plan.repositories.reduce((n, r) => n + r.bytes, 0) + t.uploadBytes;
  if (t.blobs > 0) lines.push(`Blobs no single repository owned: ${humanBytes(Math.max(0, shared))}.`);
  if (v.plan.kept.length > 0) {
    const by = new Map<string, number>();
    for (const k of v.plan.kept) by.set(`${k.kind} (${k.reason})`, (by.get(`${k.kind} (${k.reason})`) ?? 0) + 1);
    lines.push(`Kept: ${[...by].map(([k, n]) => `${n} ${k}`).join(', ')} (--format json lists them).`);
  }
  lines.push('', GC_ADVICE);
  return `${lines.join('\n')}\n`;
}

export function renderGcRestore(r: GcRestoreResult, format: Format): string {
  if (format === 'json') return json(r);
  if (format === 'csv')
    return csv(
      ['path', 'outcome'],
      [...r.restored.map((p) => [p, 'restored']), ...r.alreadyPresent.map((p) => [p, 'already-present'])],
    );
  const lines = [`Restored ${r.restored.length} items from ${printable(r.batch)} into ${printable(r.root)}.`];
  if (r.alreadyPresent.length > 0)
    lines.push(`${r.alreadyPresent.length} blobs were in storage again (same digest, same content): kept as they are.`);
  lines.push('Restart the registry so its blob descriptor cache sees what came back.');
  return `${lines.join('\n')}\n`;
}
