/**
 * Prune on object storage: the plan of the filesystem prune (prune/plan.ts), its journal in the index,
 * the lock as an object at the root, and the bucket applier (storage/s3/prune.ts).
 */
import { UsageError } from '../errors.js';
import { guardIndex } from '../index/open.js';
import { beginPruneRun, finishPruneRun, recordOutcome, type PruneMode } from '../index/journal.js';
import { cleanupOutcome, plannedActions, repositoryOutcome } from '../prune/journal.js';
import type { PrunePlan } from '../prune/plan.js';
import { Bucket } from '../storage/s3/client.js';
import { parseS3Url } from '../storage/s3/location.js';
import { acquireBucketLock } from '../storage/s3/lock.js';
import { applyPlanToBucket } from '../storage/s3/prune.js';
import type { Execution } from './execute-prune.js';
import type { Session } from './session.js';

export interface BucketPruneOptions {
  dbFile: string;
  apply: boolean;
  quarantine?: string;
  now: () => number;
}

/** Runs `plan` against the bucket of the session's scan: a journal run, and with apply the deletions. */
export async function executeBucketPlan(s: Session, plan: PrunePlan, o: BucketPruneOptions): Promise<Execution> {
  if (o.quarantine !== undefined)
    throw new UsageError('--quarantine is not available for object storage yet; nothing was changed');
  const mode: PruneMode = o.apply ? 'delete' : 'dry-run';
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
    try {
      const result = await applyPlanToBucket(bucket, plan, {
        onRepository: (r) => index(() => recordOutcome(s.db, runId, repositoryOutcome(r, o.now()))),
        onCleanup: (c) => index(() => recordOutcome(s.db, runId, cleanupOutcome(c, false, o.now()))),
      });
      index(() => finishPruneRun(s.db, runId, o.now()));
      return { runId, result };
    } catch (err) {
      try {
        finishPruneRun(s.db, runId, o.now(), err instanceof Error ? err.message : String(err));
      } catch {
        // the run stays `running`
      }
      throw err;
    } finally {
      await release();
    }
  } finally {
    bucket.close();
  }
}
