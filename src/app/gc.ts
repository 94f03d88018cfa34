/** `regaudit gc`: plan from one scan; with apply, collect (delete or quarantine) under the lock. */
import { withState } from '../audit/rules.js';
import { isS3Url } from '../storage/s3/location.js';
import { applyGc, type GcApplyResult, type ScannedRepository } from '../reclaim/apply.js';
import { openGcBatch, type GcBatch } from '../reclaim/batch.js';
import { planGc, type GcPlan, type GcPlanOptions } from '../reclaim/plan.js';
import { gcBlobRows, gcLayerLinkRows, gcRevisionRows, gcUnknowns, gcUploadRows } from '../index/gc-plan.js';
import { repositories } from '../index/queries.js';
import { processFs } from '../prune/fsops.js';
import { ensureDir } from '../prune/tree.js';
import { acquireQuarantineLock } from '../prune/lock.js';
import type { Format } from '../report/format.js';
import { renderGc } from '../report/gc-plan.js';
import { resolveStorageRoot } from '../scan/root.js';
import type { RequestCounts } from '../storage/s3/client.js';
import { applyGcOnBucket, checkBucketQuarantine } from './gc-bucket.js';
import { MutationGuard } from './mutation-guard.js';
import { resolveRoot } from './root.js';
import { withSession, type SessionOptions } from './session.js';

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
  /** On object storage with --apply: the requests the apply made, by kind. */
  requests?: RequestCounts;
}

export async function runGc(opts: GcOptions): Promise<GcRun> {
  // As prune: a bad --quarantine fails before the scan, and the lock covers the scan and the plan.
  const guard = new MutationGuard(opts);
  const root = opts.root !== undefined ? resolveRoot(opts.root) : undefined;
  // Object storage: the lock is an object and the quarantine another s3:// location (app/gc-bucket.ts).
  if (root && isS3Url(root.given)) checkBucketQuarantine(opts.quarantine);
  else if (root) guard.prepare(root.resolved.v2);
  try {
    return await withSession({ ...opts, ...(root ? { root } : {}) }, async (s) => {
      const onBucket = isS3Url(s.scan.root);
      if (onBucket) checkBucketQuarantine(opts.quarantine);
      else if (root === undefined) guard.prepare(resolveStorageRoot(s.scan.root).v2);
      const { input, scanned } = s.guard(() => {
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
      const applied: { result: GcApplyResult; batch?: string; requests?: RequestCounts } | undefined = !opts.apply
        ? undefined
        : onBucket
          ? await applyGcOnBucket(plan, s.scan.root, scanned, {
              ...(opts.quarantine !== undefined ? { quarantine: opts.quarantine } : {}),
              now: Date.now,
            })
          : applyWithBatch(plan, s.scan.root, scanned, guard.quarantineDir, opts);
      const scannedAt = new Date(s.scan.finishedMs ?? s.scan.startedMs).toISOString();
      const output = renderGc(
        {
          root: s.scan.root,
          scannedAt,
          applied: opts.apply,
          plan,
          ...(applied ? { result: applied.result } : {}),
          ...(applied?.batch ? { batch: applied.batch } : {}),
          ...(applied?.requests ? { requests: applied.requests } : {}),
        },
        opts.format,
      );
      return {
        output,
        plan,
        ...(applied ? { result: applied.result } : {}),
        ...(applied?.batch ? { batch: applied.batch } : {}),
        ...(applied?.requests ? { requests: applied.requests } : {}),
      };
    });
  } finally {
    guard.releaseLock();
  }
}

/** The apply, into a new quarantine batch when DIR is given (under DIR's lock). */
function applyWithBatch(
  plan: GcPlan,
  v2: string,
  scanned: ScannedRepository[],
  quarantineDir: string | undefined,
  opts: GcOptions,
): { result: GcApplyResult; batch?: string } {
  const fs = processFs();
  let batch: GcBatch | undefined;
  let releaseQuarantine: (() => void) | undefined;
  try {
    if (quarantineDir !== undefined && plan.blocked.length === 0) {
      ensureDir(fs, quarantineDir);
      releaseQuarantine = acquireQuarantineLock(quarantineDir);
      batch = openGcBatch(fs, quarantineDir, v2, plan.items, Date.now());
    }
    const apply = (): GcApplyResult => applyGc(plan, { v2, fs, scanned, ...(batch ? { batch } : {}) });
    const result = opts.aroundApply ? opts.aroundApply(apply) : apply();
    batch?.finish(Date.now());
    return { result, ...(batch ? { batch: batch.path } : {}) };
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
