/**
 * Prune on object storage: the plan of the filesystem prune (prune/plan.ts), its journal in the index,
 * the lock as an object at the root, and the bucket applier (prune/bucket.ts).
 */
import { UsageError } from '../errors.js';
import { guardIndex, type WritableDB } from '../index/open.js';
import { beginPruneRun, finishPruneRun, recordOutcome, setPruneBatch, type PruneMode } from '../index/journal.js';
import { cleanupOutcome, plannedActions, repositoryOutcome } from '../prune/journal.js';
import type { PrunePlan } from '../prune/plan.js';
import { Bucket } from '../storage/s3/client.js';
import { isS3Url, parseS3Url } from '../storage/s3/location.js';
import { BucketBatch } from '../storage/s3/quarantine.js';
import { acquireBucketLock } from '../prune/bucket-lock.js';
import { applyPlanToBucket } from '../prune/bucket.js';
import type { Execution } from '../prune/execute.js';
import type { Session } from './session.js';

export interface BucketPruneOptions {
  dbFile: string;
  apply: boolean;
  quarantine?: string;
  now: () => number;
}

/** Runs `plan` against the bucket of the session's scan: a journal run, and with apply the deletions. */
export async function executeBucketPlan(
  s: Session<WritableDB>,
  plan: PrunePlan,
  o: BucketPruneOptions,
): Promise<Execution> {
  if (o.quarantine !== undefined && !isS3Url(o.quarantine))
    throw new UsageError(
      `--quarantine ${o.quarantine}: a bucket's quarantine is an s3://BUCKET/PREFIX location; nothing was changed`,
    );
  const mode: PruneMode = !o.apply ? 'dry-run' : o.quarantine !== undefined ? 'quarantine' : 'delete';
  const index = <T>(fn: () => T): T => guardIndex(o.dbFile, fn);
  if (!o.apply) {
    const runId = index(() =>
      beginPruneRun(s.db, { root: s.scan.root, mode, startedMs: o.now() }, plannedActions(plan)),
    );
    index(() => finishPruneRun(s.db, runId, o.now()));
    return { runId };
  }
  const bucket = await Bucket.open(parseS3Url(s.scan.root));
  try {
    const release = await acquireBucketLock(bucket);
    const runId = index(() =>
      beginPruneRun(s.db, { root: s.scan.root, mode, startedMs: o.now() }, plannedActions(plan)),
    );
    let batch: BucketBatch | undefined;
    try {
      if (o.quarantine !== undefined) {
        batch = await BucketBatch.open(o.quarantine, s.scan.root, o.now());
        const url = batch.url;
        index(() => setPruneBatch(s.db, runId, url));
      }
      const result = await applyPlanToBucket(bucket, plan, {
        ...(batch ? { quarantine: batch } : {}),
        onRepository: (r) => index(() => recordOutcome(s.db, runId, repositoryOutcome(r, o.now()))),
        onCleanup: (c) => index(() => recordOutcome(s.db, runId, cleanupOutcome(c, false, o.now()))),
      });
      await batch?.finish('complete');
      index(() => finishPruneRun(s.db, runId, o.now()));
      return { runId, result, ...(batch ? { batch: { path: batch.url, resumed: batch.resumed } } : {}) };
    } catch (err) {
      try {
        finishPruneRun(s.db, runId, o.now(), err instanceof Error ? err.message : String(err));
      } catch {
        // the run stays `running`
      }
      throw err;
    } finally {
      batch?.close();
      await release();
    }
  } finally {
    bucket.close();
  }
}
