/**
 * Carrying out a prune plan with its journal: the run and every planned action go into the index
 * before anything on disk changes (dry runs too); each outcome is recorded as it happens; with
 * --quarantine the batch's journal.json records the plan and the directories it may change first.
 */
import { RegauditError, StorageError, describeFsError, errnoCode, sqliteCode } from '../errors.js';
import type { DB } from '../index/open.js';
import { guardIndex } from '../index/open.js';
import { beginPruneRun, finishPruneRun, recordOutcome, setPruneBatch, type PruneMode } from '../index/journal.js';
import { applyPlan } from './apply.js';
import type { ApplyResult } from './outcome.js';
import { processFs } from './fsops.js';
import { cleanupOutcome, plannedActions, repositoryOutcome, type JournalOutcome } from './journal.js';
import { acquireQuarantineLock } from './lock.js';
import type { PrunePlan } from './plan.js';
import { openBatch, type QuarantineBatch } from './quarantine.js';
import { ensureDir } from './tree.js';

export interface ExecuteOptions {
  db: DB;
  dbFile: string;
  v2: string;
  plan: PrunePlan;
  apply: boolean;
  /** Resolved quarantine directory (resolveQuarantineDir). */
  quarantineDir?: string;
  now: () => number;
  /** Wraps the synchronous apply (the CLI lets signals end it at once there). */
  aroundApply?: <T>(fn: () => T) => T;
}

export interface Execution {
  runId: number;
  result?: ApplyResult;
  batch?: { path: string; resumed: boolean };
}

/** A raw filesystem error from the quarantine or a journal file, as the one-line error the CLI prints. */
function asStorageError(err: unknown): unknown {
  const code = errnoCode(err);
  if (err instanceof RegauditError || code === undefined || sqliteCode(err) !== undefined) return err;
  const where = typeof err === 'object' && err && 'path' in err ? `${String(err.path)}: ` : '';
  return new StorageError(
    `${where}${describeFsError(err)} (prune stopped; every step it took is complete, rerun it to finish)`,
  );
}

export function executePlan(o: ExecuteOptions): Execution {
  const mode: PruneMode = !o.apply ? 'dry-run' : o.quarantineDir !== undefined ? 'quarantine' : 'delete';
  const index = <T>(fn: () => T): T => guardIndex(o.dbFile, fn);
  const runId = index(() => beginPruneRun(o.db, { root: o.v2, mode, startedMs: o.now() }, plannedActions(o.plan)));
  if (!o.apply) {
    index(() => finishPruneRun(o.db, runId, o.now()));
    return { runId };
  }
  const fs = processFs();
  const done: JournalOutcome[] = [];
  const record = (x: JournalOutcome): void => {
    done.push(x);
    index(() => recordOutcome(o.db, runId, x));
  };
  let batch: QuarantineBatch | undefined;
  let releaseQuarantine: (() => void) | undefined;
  try {
    if (o.quarantineDir !== undefined) {
      ensureDir(fs, o.quarantineDir);
      releaseQuarantine = acquireQuarantineLock(o.quarantineDir);
      batch = openBatch(fs, o.quarantineDir, o.v2, o.plan, o.now());
      const batchPath = batch.path;
      index(() => setPruneBatch(o.db, runId, batchPath));
    }
    const quarantined = batch !== undefined;
    const apply = (): ApplyResult =>
      applyPlan(o.plan, {
        v2: o.v2,
        fs,
        ...(batch ? { quarantine: batch } : {}),
        onRepository: (r) => record(repositoryOutcome(r, o.now())),
        onCleanup: (c) => record(cleanupOutcome(c, quarantined, o.now())),
      });
    const result = o.aroundApply ? o.aroundApply(apply) : apply();
    batch?.finish(done, o.now());
    index(() => finishPruneRun(o.db, runId, o.now()));
    return { runId, result, ...(batch ? { batch: { path: batch.path, resumed: batch.resumed } } : {}) };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // Best effort: the failure itself may be the disk the journals live on.
    try {
      batch?.finish(done, o.now(), msg);
    } catch {
      // the batch stays `running`; the next prune resumes it
    }
    try {
      finishPruneRun(o.db, runId, o.now(), msg);
    } catch {
      // the run stays `running`
    }
    throw asStorageError(err);
  } finally {
    releaseQuarantine?.();
  }
}
