/** `regaudit gc`: plan from one scan; with apply, collect (delete or quarantine) under the lock. */
import { withState } from '../audit/rules.js';
import { isS3Url } from '../storage/s3/location.js';
import { applyGc, type GcApplyResult, type GcItemResult } from '../reclaim/apply.js';
import { openGcBatch, type GcBatch } from '../reclaim/batch.js';
import {
  byKindAndPath,
  gcItems,
  planGc,
  sortKept,
  summarise,
  type GcItem,
  type GcKept,
  type GcPlan,
  type GcPlanInput,
  type GcPlanOptions,
} from '../reclaim/plan.js';
import { gcGuardRepositories, gcScannedRepositories, type GcGuardRepositories } from '../index/gc-guard.js';
import {
  gcBlobRows,
  gcEmptyBlobDirs,
  gcLayerLinkRows,
  gcRevisionRows,
  gcUnknowns,
  gcUploadRows,
} from '../index/gc-plan.js';
import { repositories } from '../index/queries.js';
import { beginGcRun, finishGcRun, recordGcOutcomes, setGcBatch } from '../index/journal.js';
import { guardIndex, type WritableDB } from '../index/open.js';
import { ItemSpill } from '../index/spill.js';
import { processFs } from '../prune/fsops.js';
import { ensureDir } from '../prune/tree.js';
import { acquireQuarantineLock } from '../prune/lock.js';
import type { Format } from '../report/format.js';
import { renderGcChunks } from '../report/gc-plan.js';
import { resolveStorageRoot } from '../scan/root.js';
import type { RequestCounts } from '../storage/s3/client.js';
import { applyGcOnBucket, checkBucketQuarantine } from './gc-bucket.js';
import { MutationGuard } from './mutation-guard.js';
import { resolveRoot } from './root.js';
import { withSession, withWritableSession, type Session, type SessionOptions } from './session.js';

export interface GcOptions extends SessionOptions, Omit<GcPlanOptions, 'now'> {
  format: Format;
  apply: boolean;
  now: number;
  quarantine?: string;
  /** Called after each item of the apply (tests change the storage mid-run through it). */
  onItem?: (r: GcItemResult) => void;
  /** Wraps the synchronous apply (see CommandContext.killableDuring). */
  aroundApply?: <T>(fn: () => T) => T;
  /**
   * Where the output goes, a piece at a time, while the index is open (`output` is then empty): a
   * dry run's plan too large to hold goes to a spill file and is read back as it is written (its
   * `items` are then empty, and a table, which lists none, keeps none).
   */
  write?: (chunk: string) => void;
  /** With `write`: items a dry run holds before it spills them (default HELD_ITEMS; tests make it small). */
  heldItems?: number;
}

export interface GcRun {
  /** The output, unless `write` took it. */
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
    const so = { ...opts, ...(root ? { root } : {}) };
    // An apply records its run in the index journal, so it opens the index for writing.
    if (opts.apply) return await withWritableSession(so, (s) => body(s, s.db));
    return await withSession(so, (s) => body(s, undefined));
  } finally {
    guard.releaseLock();
  }

  async function body(s: Session, journal: WritableDB | undefined): Promise<GcRun> {
    {
      const onBucket = isS3Url(s.scan.root);
      if (onBucket) checkBucketQuarantine(opts.quarantine);
      else if (root === undefined) guard.prepare(resolveStorageRoot(s.scan.root).v2);
      const candidates = { deleteUntagged: opts.deleteUntagged };
      const input: GcPlanInput = s.guard(() => {
        const repoRows = repositories(s.db, s.scan.id);
        return {
          blobs: gcBlobRows(s.db, s.scan.id, candidates),
          layerLinks: gcLayerLinkRows(s.db, s.scan.id, candidates),
          revisions: gcRevisionRows(s.db, s.scan.id, candidates),
          uploads: gcUploadRows(s.db, s.scan.id),
          repositories: repoRows.map(withState),
          unknowns: gcUnknowns(s.db, s.scan.id),
          emptyBlobDirs: gcEmptyBlobDirs(s.db, s.scan.id),
        };
      });
      // A dry run's plan too large to hold goes to a spill file while it is written; closed when done.
      let spill: ItemSpill<GcItem> | undefined;
      const spillOf = (): ItemSpill<GcItem> => (spill ??= new ItemSpill<GcItem>());
      try {
        const plan = s.guard(() =>
          // The table lists totals and repositories, no items: a dry run then keeps none.
          !opts.apply && opts.write
            ? planDryRun(input, opts, opts.format === 'table' ? undefined : (opts.heldItems ?? HELD_ITEMS), spillOf)
            : planGc(input, opts),
        );
        const applied: { result: GcApplyResult; batch?: string; requests?: RequestCounts; runId?: number } | undefined =
          !opts.apply
            ? undefined
            : onBucket
              ? await applyGcOnBucket(plan, s.scan.root, gcScannedRepositories(s.db, s.scan.id), {
                  ...(opts.quarantine !== undefined ? { quarantine: opts.quarantine } : {}),
                  now: Date.now,
                })
              : applyWithBatch(plan, s.scan.root, gcGuardRepositories(s.db, s.scan.id), guard.quarantineDir, opts, {
                  db: journal!,
                  dbFile: s.dbFile,
                });
        const scannedAt = new Date(s.scan.finishedMs ?? s.scan.startedMs).toISOString();
        const chunks = renderGcChunks(
          {
            root: s.scan.root,
            scannedAt,
            applied: opts.apply,
            plan,
            ...(applied ? { result: applied.result } : {}),
            ...(applied?.batch ? { batch: applied.batch } : {}),
            ...(applied?.runId !== undefined ? { journalRun: applied.runId } : {}),
            ...(applied?.requests ? { requests: applied.requests } : {}),
          },
          opts.format,
        );
        let output = '';
        if (opts.write)
          s.guard(() => {
            for (const c of chunks) opts.write!(c);
          });
        else output = [...chunks].join('');
        return {
          output,
          plan,
          ...(applied ? { result: applied.result } : {}),
          ...(applied?.batch ? { batch: applied.batch } : {}),
          ...(applied?.requests ? { requests: applied.requests } : {}),
        };
      } finally {
        spill?.close();
      }
    }
  }
}

/** A dry run holds a plan of up to this many items (about 20 MB); a larger one goes to a spill file. */
const HELD_ITEMS = 50_000;

/**
 * A dry run's plan in one pass over the index: the totals, the repositories and what is kept, with
 * up to `hold` items held, the rest added to a spill file (index/spill.ts) and read back as they are
 * written (`each`), so memory does not grow with the plan (`--delete-untagged` on the large benchmark
 * tree: 409 k items, 135 MB of JSON); no items at all when `hold` is undefined (the output lists
 * none). The index gives each kind's rows in path order; should it not (a name the database orders
 * otherwise than JavaScript does), the plan is held and sorted instead.
 */
function planDryRun(
  input: GcPlanInput,
  opts: GcPlanOptions,
  hold: number | undefined,
  spillOf: () => ItemSpill<GcItem>,
): GcPlan {
  const kept: GcKept[] = [];
  let held: GcItem[] | undefined = hold === undefined ? undefined : [];
  let spill: ItemSpill<GcItem> | undefined;
  let last: GcItem | undefined;
  let ordered = true;
  const pass = function* (): Generator<GcItem> {
    for (const i of gcItems(input, opts, (k) => kept.push(k))) {
      if (last && byKindAndPath(last, i) > 0) ordered = false;
      last = i;
      if (spill) spill.add(i);
      else if (held && held.push(i) > hold!) {
        spill = spillOf();
        for (const h of held) spill.add(h);
        held = undefined;
      }
      yield i;
    }
  };
  const summary = summarise(pass());
  if (!ordered) return planGc(input, opts);
  const plan = { deleteUntagged: opts.deleteUntagged, blocked: [...input.unknowns], kept: sortKept(kept), ...summary };
  if (spill) {
    const spilled = spill;
    return { ...plan, items: [], each: () => spilled.items() };
  }
  return { ...plan, items: held ?? [] };
}

/** Outcomes go to the index journal in groups of this many (one transaction each). */
const JOURNAL_GROUP = 1000;

/**
 * The apply, into a quarantine batch when DIR is given (under DIR's lock), recorded in the index
 * journal: the run and its items first, outcomes as they happen (a kill loses at most the last
 * group's outcomes; the run then stays `running`), the bytes freed and the batch at the end.
 */
function applyWithBatch(
  plan: GcPlan,
  v2: string,
  scanned: GcGuardRepositories,
  quarantineDir: string | undefined,
  opts: GcOptions,
  journal: { db: WritableDB; dbFile: string },
): { result: GcApplyResult; batch?: string; runId: number } {
  const index = <T>(fn: () => T): T => guardIndex(journal.dbFile, fn);
  const mode = quarantineDir !== undefined ? 'quarantine' : 'delete';
  const runId = index(() =>
    beginGcRun(journal.db, { root: v2, mode, deleteUntagged: plan.deleteUntagged, startedMs: Date.now() }, plan.items),
  );
  const seqOf = new Map(plan.items.map((i, n) => [i.path, n + 1]));
  let pending: Array<{ seq: number; outcome: string; detail?: string }> = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const group = pending;
    pending = [];
    index(() => recordGcOutcomes(journal.db, runId, group));
  };
  const onItem = (r: GcItemResult): void => {
    pending.push({
      seq: seqOf.get(r.path)!,
      outcome: r.outcome,
      ...(r.detail !== undefined ? { detail: r.detail } : {}),
    });
    if (pending.length >= JOURNAL_GROUP) flush();
    opts.onItem?.(r);
  };
  const fs = processFs();
  let batch: GcBatch | undefined;
  let releaseQuarantine: (() => void) | undefined;
  let freed = 0;
  try {
    if (quarantineDir !== undefined && plan.blocked.length === 0) {
      ensureDir(fs, quarantineDir);
      releaseQuarantine = acquireQuarantineLock(quarantineDir);
      ({ batch } = openGcBatch(fs, quarantineDir, v2, plan.items, Date.now()));
      const b = batch.path;
      index(() => setGcBatch(journal.db, runId, b));
    }
    // The guard reads each repository's rows from the index as it checks it: an index failure is one line.
    const rows: GcGuardRepositories = {
      names: () => index(() => scanned.names()),
      get: (n) => index(() => scanned.get(n)),
    };
    const apply = (): GcApplyResult =>
      applyGc(plan, {
        v2,
        fs,
        scanned: rows,
        ...(batch ? { batch } : {}),
        onItem: (r) => {
          if (r.outcome !== 'skipped') freed += r.bytes;
          onItem(r);
        },
      });
    const result = opts.aroundApply ? opts.aroundApply(apply) : apply();
    batch?.finish(Date.now());
    flush();
    index(() => finishGcRun(journal.db, runId, Date.now(), result.bytesFreed));
    return { result, runId, ...(batch ? { batch: batch.path } : {}) };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    try {
      batch?.finish(Date.now(), msg);
    } catch {
      // the batch stays `running`; restore still puts back whatever it holds
    }
    try {
      flush();
      finishGcRun(journal.db, runId, Date.now(), freed, msg);
    } catch {
      // the run stays `running` in the journal; the error below is what matters
    }
    throw err;
  } finally {
    releaseQuarantine?.();
  }
}
