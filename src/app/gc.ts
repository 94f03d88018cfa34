/** `regaudit gc`: plan from one scan; with apply, collect (delete or quarantine) under the lock. */
import { withState } from '../audit/rules.js';
import { applyGc, type GcApplyResult } from '../gc/apply.js';
import { openGcBatch, type GcBatch } from '../gc/batch.js';
import { planGc, type GcPlan, type GcPlanOptions } from '../gc/plan.js';
import { gcBlobRows, gcLayerLinkRows, gcRevisionRows, gcUnknowns, gcUploadRows } from '../index/gc-plan.js';
import { guardIndex } from '../index/open.js';
import { repositories } from '../index/queries.js';
import { processFs } from '../prune/fsops.js';
import { ensureDir } from '../prune/tree.js';
import { acquireQuarantineLock } from '../prune/lock.js';
import type { Format } from '../report/format.js';
import { renderGc } from '../report/gc-plan.js';
import { resolveStorageRoot } from '../scan/root.js';
import { MutationGuard } from './mutation-guard.js';
import { openSession, type SessionOptions } from './session.js';

export interface GcOptions extends SessionOptions, Omit<GcPlanOptions, 'now'> {
  format: Format;
  apply: boolean;
  now: number;
  quarantine?: string;
  /** Wraps the synchronous apply (see CommandContext.killableDuring). */
  aroundApply?: <T>(fn: () => T) => T;
}

export interface GcRun {
  output: string;
  plan: GcPlan;
  result?: GcApplyResult;
  batch?: string;
}

export async function runGc(opts: GcOptions): Promise<GcRun> {
  const guard = new MutationGuard(opts);
  const prepare = (v2: string): void => guard.prepare(v2);
  if (opts.root !== undefined) prepare(resolveStorageRoot(opts.root).v2);
  try {
    const s = await openSession(opts);
    try {
      if (opts.root === undefined) prepare(resolveStorageRoot(s.scan.root).v2);
      const { input, scanned } = guardIndex(opts.dbFile, () => {
        const repoRows = repositories(s.db, s.scan.id);
        return {
          input: {
            blobs: gcBlobRows(s.db, s.scan.id),
            layerLinks: gcLayerLinkRows(s.db, s.scan.id),
            revisions: gcRevisionRows(s.db, s.scan.id),
            uploads: gcUploadRows(s.db, s.scan.id),
            repositories: repoRows.map(withState),
            unknowns: gcUnknowns(s.db, s.scan.id),
          },
          scanned: repoRows.map((r) => ({ name: r.name, entries: r.entries, newestMtimeMs: r.newestMtimeMs })),
        };
      });
      const plan = planGc(input, opts);
      let result: GcApplyResult | undefined;
      let batch: GcBatch | undefined;
      if (opts.apply) {
        const fs = processFs();
        const v2 = s.scan.root;
        let releaseQuarantine: (() => void) | undefined;
        try {
          if (guard.quarantineDir !== undefined && plan.blocked.length === 0) {
            ensureDir(fs, guard.quarantineDir);
            releaseQuarantine = acquireQuarantineLock(guard.quarantineDir);
            batch = openGcBatch(fs, guard.quarantineDir, v2, plan.items, Date.now());
          }
          const apply = (): GcApplyResult => applyGc(plan, { v2, fs, scanned, ...(batch ? { batch } : {}) });
          result = opts.aroundApply ? opts.aroundApply(apply) : apply();
          batch?.finish(Date.now());
        } catch (err) {
          try {
            batch?.finish(Date.now(), err instanceof Error ? err.message : String(err));
          } catch {
            // the batch stays `running`; restore still puts back whatever it holds
          }
          throw err;
        } finally {
          releaseQuarantine?.();
        }
      }
      const scannedAt = new Date(s.scan.finishedMs ?? s.scan.startedMs).toISOString();
      const output = renderGc(
        {
          root: s.scan.root,
          scannedAt,
          applied: opts.apply,
          plan,
          ...(result ? { result } : {}),
          ...(batch ? { batch: batch.path } : {}),
        },
        opts.format,
      );
      return { output, plan, ...(result ? { result } : {}), ...(batch ? { batch: batch.path } : {}) };
    } finally {
      s.db.close();
    }
  } finally {
    guard.releaseLock();
  }
}
