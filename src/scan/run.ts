import { availableParallelism } from 'node:os';
import type { DB } from '../index/open.js';
import { indexFailure, openIndexForRebuild, openIndexForWrite } from '../index/open.js';
import { abandonRebuild, claimRebuild, finishRebuild, startRebuild, type Rebuild } from '../index/rebuild.js';
import {
  completeScan,
  countFiles,
  dropScansOf,
  insertScan,
  reusableScan,
  restoreIndexes,
  revisionDigestPages,
  suspendIndexes,
} from '../index/scans.js';
import { deriveGraph, graphInputCounts } from '../index/derive.js';
import { IndexWriter } from '../index/writes.js';
import { RegauditError, sqliteCode } from '../errors.js';
import { resolveStorageRoot, type StorageRoot } from './root.js';
import { WorkerPool } from './parallel.js';
import { InlineRunner, type TaskRunner } from './runners.js';
import { MANIFEST_BATCH, type WalkContext } from './tasks.js';
import type { Digest } from '../layout/digest.js';
import { CollectingSink, runWalk, type WalkProgress } from './walk.js';
import { fsStorage } from '../storage/fs.js';
import { rescanInPlace, type RescanStats } from './rescan.js';
import { scanBucket } from './bucket.js';
import { isS3Url } from '../storage/s3/location.js';
import type { RequestCounts } from '../storage/s3/client.js';

export interface ScanOptions {
  dbFile: string;
  now?: () => number;
  onProgress?: (p: WalkProgress) => void;
  /** Worker threads for the walk; 0 walks in this thread. */
  jobs?: number;
  /** Read everything even when an earlier scan of the root could be updated incrementally. */
  full?: boolean;
  /** List every digest directory instead of opening `link`/`data` by name (finds strays beside them). */
  thorough?: boolean;
  /**
   * A full scan writes a new index file beside `dbFile` and renames it into place (index/rebuild.ts)
   * unless another connection has the index open; the `db` passed in is then closed, and the
   * result's `db` is the index to use from then on.
   */
  rebuild?: boolean;
}

export interface ScanResult {
  scanId: number;
  root: StorageRoot;
  files: number;
  dirs: number;
  repositories: number;
  elapsedMs: number;
  /** Set when the previous scan was updated in place. */
  incremental?: RescanStats;
  /** Wall milliseconds per phase, in order (walk, indexes, graph, ...): where a scan's time goes. */
  phases: Array<[string, number]>;
  /** The open index holding the scan: the `db` given, or the new file after a rebuild. */
  db: DB;
  /** True when the scan went into a new file renamed into place (index/rebuild.ts). */
  rebuilt?: boolean;
  /** Object storage only: the requests the scan sent, by kind. */
  requests?: RequestCounts;
  /** Object storage only: manifest blobs read, and taken unchanged from the previous scan. */
  manifests?: { read: number; reused: number };
}

/** Default worker count: enough reads in flight for a cold disk without starving the index writer. */
export function defaultJobs(): number {
  return Math.max(2, Math.min(4, availableParallelism() * 2));
}

/**
 * Walks the storage under `given` into a new scan of the index, in one transaction: until it
 * commits, the previous scan of that root stays the current one (an interrupted or failed scan
 * leaves nothing behind that looks complete).
 */
export async function scanStorage(db: DB, given: string, opts: ScanOptions): Promise<ScanResult> {
  const now = opts.now ?? Date.now;
  if (isS3Url(given)) return scanObjectStorage(db, given, opts);
  const root = resolveStorageRoot(given);
  const started = now();
  const jobs = opts.jobs ?? defaultJobs();
  const phases: Array<[string, number]> = [];
  let mark = performance.now();
  const phase = (name: string): void => {
    const t = performance.now();
    phases.push([name, Math.round(t - mark)]);
    mark = t;
  };
  const thorough = Boolean(opts.thorough);
  const ctx: WalkContext = { storage: fsStorage, v2: root.v2, thorough };
  const runner: TaskRunner = jobs > 0 ? new WorkerPool(ctx, jobs) : new InlineRunner(ctx);
  let rebuild: Rebuild | undefined;
  try {
    // A full scan may write a new file (index/rebuild.ts) when nobody else has the index open; the
    // journal mode can only change outside a transaction, so claim it before, if it looks full.
    const claimed =
      Boolean(opts.rebuild) &&
      opts.dbFile !== ':memory:' &&
      (opts.full || reusableScan(db, root.v2, thorough) === undefined) &&
      claimRebuild(db);
    db.exec('BEGIN IMMEDIATE');
    phase('begin');
    try {
      const previous = opts.full ? undefined : reusableScan(db, root.v2, thorough);
      if (previous !== undefined) {
        const writer = new IndexWriter(db, previous);
        const sink = new CollectingSink(writer, opts.onProgress);
        const before = graphInputCounts(db, previous);
        const incremental = await rescanInPlace(db, ctx, previous, writer, sink, runner);
        await runner.close(); // as after a full walk: the derivation needs no workers
        writer.flush();
        phase('rescan');
        // The derived manifest graph stays valid when nothing was read again and nothing went away.
        const reread = incremental.repositoriesReread + incremental.fansReread + incremental.manifestsRead;
        if (reread > 0 || graphInputCounts(db, previous) !== before) deriveGraph(db, previous);
        phase('graph');
        const files = countFiles(db, previous);
        completeScan(db, previous, { files, dirs: -1, finishedMs: now() }, given);
        db.exec('COMMIT');
        phase('commit');
        return {
          scanId: previous,
          root,
          files,
          dirs: -1,
          repositories: incremental.repositories,
          elapsedMs: now() - started,
          incremental,
          phases,
          db,
        };
      }
      let target = db;
      if (claimed) {
        rebuild = startRebuild(opts.dbFile, root.v2, openIndexForRebuild);
        target = rebuild.db;
      } else dropScansOf(db, root.v2);
      const indexes = suspendIndexes(target);
      const scanId = insertScan(target, root.v2, given, started, thorough);
      const sink = new CollectingSink(new IndexWriter(target, scanId), opts.onProgress);
      await runWalk(
        ctx,
        sink,
        runner,
        () => revisionDigestPages(target, scanId, MANIFEST_BATCH) as Iterable<Digest[]>,
        phase,
      );
      // The workers' heaps are not needed for the index builds and the derivation: give them back now.
      await runner.close();
      restoreIndexes(target, indexes);
      phase('indexes');
      deriveGraph(target, scanId);
      phase('graph');
      const { files, dirs, repositories } = sink.progress;
      completeScan(target, scanId, { files, dirs, finishedMs: now() });
      const result = { scanId, root, files, dirs, repositories, phases };
      if (rebuild) {
        finishRebuild(rebuild, db);
        rebuild = undefined;
        phase('commit');
        return { ...result, elapsedMs: now() - started, db: openIndexForWrite(opts.dbFile), rebuilt: true };
      }
      db.exec('COMMIT');
      phase('commit');
      return { ...result, elapsedMs: now() - started, db };
    } catch (err) {
      if (rebuild) abandonRebuild(rebuild);
      if (db.open && db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  } catch (err) {
    if (err instanceof RegauditError) throw err;
    if (sqliteCode(err) !== undefined) {
      throw indexFailure(opts.dbFile, err);
    }
    throw err;
  } finally {
    await runner.close();
  }
}

/** `s3://BUCKET/ROOTDIRECTORY`: the same rows from a bucket listing (scan/bucket.ts). */
async function scanObjectStorage(db: DB, given: string, opts: ScanOptions): Promise<ScanResult> {
  const now = opts.now ?? Date.now;
  const started = now();
  const phases: Array<[string, number]> = [];
  let mark = performance.now();
  try {
    const r = await scanBucket(db, given, {
      now,
      // --thorough means "read everything" on a filesystem; a bucket has nothing more to list.
      full: Boolean(opts.full) || Boolean(opts.thorough),
      ...(opts.rebuild ? { rebuildFile: opts.dbFile } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      phase: (name) => {
        const t = performance.now();
        phases.push([name, Math.round(t - mark)]);
        mark = t;
      },
    });
    return {
      scanId: r.scanId,
      root: { v2: r.v2Url, rootDirectory: r.rootDirectory },
      files: r.files,
      dirs: -1,
      repositories: r.repositories,
      elapsedMs: now() - started,
      phases,
      requests: r.requests,
      manifests: r.manifests,
      // A first bucket scan may have written a new file and closed `db` (index/rebuild.ts).
      db: r.db,
      ...(r.rebuilt ? { rebuilt: true } : {}),
    };
  } catch (err) {
    if (sqliteCode(err) !== undefined) throw indexFailure(opts.dbFile, err);
    throw err;
  }
}
