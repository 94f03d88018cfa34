import { availableParallelism } from 'node:os';
import type { DB } from '../index/open.js';
import { indexFailure } from '../index/open.js';
import {
  completeScan,
  countFiles,
  dropScansOf,
  insertScan,
  reusableScan,
  restoreIndexes,
  suspendIndexes,
} from '../index/scans.js';
import { deriveGraph, graphInputCounts } from '../index/derive.js';
import { IndexWriter } from '../index/writes.js';
import { RegauditError, sqliteCode } from '../errors.js';
import { resolveStorageRoot, type StorageRoot } from './root.js';
import { WorkerPool } from './parallel.js';
import { InlineRunner, type TaskRunner } from './runners.js';
import type { WalkContext } from './tasks.js';
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
  /** Object storage only: the requests the scan sent, by kind. */
  requests?: RequestCounts;
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
  try {
    db.exec('BEGIN IMMEDIATE');
    phase('begin');
    try {
      const previous = opts.full ? undefined : reusableScan(db, root.v2, thorough);
      if (previous !== undefined) {
        const writer = new IndexWriter(db, previous);
        const sink = new CollectingSink(writer, opts.onProgress);
        const before = graphInputCounts(db, previous);
        const incremental = await rescanInPlace(db, ctx, previous, writer, sink, runner);
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
        };
      }
      dropScansOf(db, root.v2);
      const indexes = suspendIndexes(db);
      const scanId = insertScan(db, root.v2, given, started, thorough);
      const sink = new CollectingSink(new IndexWriter(db, scanId), opts.onProgress);
      await runWalk(ctx, sink, runner, phase);
      restoreIndexes(db, indexes);
      phase('indexes');
      deriveGraph(db, scanId);
      phase('graph');
      const { files, dirs, repositories } = sink.progress;
      completeScan(db, scanId, { files, dirs, finishedMs: now() });
      db.exec('COMMIT');
      phase('commit');
      return { scanId, root, files, dirs, repositories, elapsedMs: now() - started, phases };
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
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
    };
  } catch (err) {
    if (sqliteCode(err) !== undefined) throw indexFailure(opts.dbFile, err);
    throw err;
  }
}
