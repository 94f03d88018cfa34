import { withState } from '../audit/rules.js';
import { repositoryFilterOf, repositoryFiltered, repositorySelected, type Selection } from '../audit/select.js';
import { debris, repositories } from '../index/queries.js';
import type { ApplyResult } from '../prune/outcome.js';
import { planPrune, type PrunePlan } from '../prune/plan.js';
import type { Format } from '../report/format.js';
import { renderPrune } from '../report/prune.js';
import { resolveStorageRoot } from '../scan/root.js';
import { resolveRoot } from './root.js';
import { executePlan, type Execution } from '../prune/execute.js';
import { executeBucketPlan } from './prune-bucket.js';
import { isS3Url } from '../storage/s3/location.js';
import { MutationGuard } from './mutation-guard.js';
import { withWritableSession, type SessionOptions } from './session.js';

export interface PruneOptions extends SessionOptions {
  format: Format;
  apply: boolean;
  now: number;
  minAgeMs: number;
  uploadAgeMs: number;
  /** Move parts into a batch under this directory instead of deleting them. */
  quarantine?: string;
  /** Wraps the synchronous apply (see CommandContext.killableDuring). */
  aroundApply?: <T>(fn: () => T) => T;
  /**
   * --repository, --exclude: only matching repositories may be deleted; leftovers are cleaned only
   * inside them (leftovers that belong to no repository are left to an unfiltered prune).
   */
  selection?: Selection;
}

export interface PruneOutcome {
  output: string;
  plan: PrunePlan;
  result?: ApplyResult;
  execution?: Execution;
}

/**
 * Scans, plans, and (with apply) deletes. The lock is taken before the scan so the plan and
 * its execution see the same storage as far as other prunes are concerned.
 */
export async function runPrune(opts: PruneOptions): Promise<PruneOutcome> {
  // Checked before the scan, dry run included (see MutationGuard).
  const guard = new MutationGuard(opts);
  const prepare = (v2: string): void => guard.prepare(v2);
  // Resolved once here and passed down: the lock, the quarantine check and the scan see the same root.
  const root = opts.root !== undefined ? resolveRoot(opts.root) : undefined;
  // Object storage takes its lock (an object) and has no quarantine directory: app/prune-bucket.ts.
  if (root && !isS3Url(root.given)) prepare(root.resolved.v2);
  try {
    return await withWritableSession({ ...opts, ...(root ? { root } : {}) }, async (s) => {
      // From an existing index: the storage must still be there (apply re-reads every repository anyway).
      const onBucket = isS3Url(s.scan.root);
      if (opts.root === undefined && !onBucket) prepare(resolveStorageRoot(s.scan.root).v2);
      // The plan needs the repository states and the leftovers, not the whole audit.
      const { repositoryRows, debrisRows } = s.guard(() => ({
        repositoryRows: repositories(s.db, s.scan.id),
        debrisRows: debris(s.db, s.scan.id),
      }));
      const sel = opts.selection ?? {};
      const filtered = repositoryFiltered(sel);
      const repos = repositoryRows.filter((r) => repositorySelected(r.name, sel)).map(withState);
      const leftovers = filtered
        ? debrisRows.filter((d) => d.repository !== null && repositorySelected(d.repository, sel))
        : debrisRows;
      const plan = planPrune(repos, leftovers, {
        now: opts.now,
        minAgeMs: opts.minAgeMs,
        uploadAgeMs: opts.uploadAgeMs,
      });
      const execution = onBucket
        ? await executeBucketPlan(s, plan, {
            dbFile: s.dbFile,
            apply: opts.apply,
            ...(opts.quarantine !== undefined ? { quarantine: opts.quarantine } : {}),
            now: opts.clock ?? Date.now,
          })
        : executePlan({
            db: s.db,
            dbFile: s.dbFile,
            v2: s.scan.root,
            plan,
            apply: opts.apply,
            ...(guard.quarantineDir !== undefined ? { quarantineDir: guard.quarantineDir } : {}),
            now: opts.clock ?? Date.now,
            ...(opts.aroundApply ? { aroundApply: opts.aroundApply } : {}),
          });
      const result = execution.result;
      const output = renderPrune(
        {
          root: s.scan.root,
          applied: opts.apply,
          filter: repositoryFilterOf(sel),
          plan,
          ...(result ? { result } : {}),
          journalRun: execution.runId,
          ...(guard.quarantineDir !== undefined || (onBucket && opts.quarantine !== undefined)
            ? { quarantine: { dir: guard.quarantineDir ?? opts.quarantine!, batch: execution.batch } }
            : {}),
        },
        opts.format,
      );
      return { output, plan, ...(result ? { result } : {}), execution };
    });
  } finally {
    guard.releaseLock();
  }
}
