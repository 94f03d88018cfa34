/** `restore`, `quarantine list|purge` and `journal`: quarantine batches and the prune journal. */
import path from 'node:path';
import { IndexError } from '../errors.js';
import { gcBatchFiles, gcBatchInfo, isGcBatch, readGcJournal, restoreGcBatch } from '../reclaim/batch.js';
import { guardIndex, openIndexForRead } from '../index/open.js';
import { soleDefaultIndex } from '../index/location.js';
import { gcRuns, pruneActions, pruneRun, pruneRuns } from '../index/journal.js';
import { batchSize, listBatches, purgeDecisions, purgeBatches, type ForeignBatchReader } from '../prune/batches.js';
import { processFs } from '../prune/fsops.js';
import { acquirePruneLock, acquireQuarantineLock } from '../prune/lock.js';
import { readJournal } from '../prune/quarantine.js';
import { restoreBatch } from '../prune/restore.js';
import type { Format } from '../report/format.js';
import { renderGcRestore } from '../report/gc-plan.js';
import { renderBatches, renderPurge, renderRestore, renderRun, renderRuns } from '../report/quarantine.js';
import { resolveStorageRoot } from '../scan/root.js';
import { Bucket } from '../storage/s3/client.js';
import { parseS3Url } from '../storage/s3/location.js';
import { acquireBucketLock } from '../prune/bucket-lock.js';
import { bucketBatchRoot, restoreBucketBatch } from '../storage/s3/quarantine.js';

/** Puts a batch on object storage back (storage/s3/quarantine.ts); holds the root's lock object throughout. */
export async function runBucketRestore(o: { batch: string; root?: string; format: Format }): Promise<string> {
  const journalRoot = o.root ?? (await bucketBatchRoot(o.batch));
  const bucket = await Bucket.open(parseS3Url(journalRoot));
  try {
    const release = await acquireBucketLock(bucket);
    try {
      const r = await restoreBucketBatch(o.batch, journalRoot);
      if (r.command === 'gc')
        return renderGcRestore(
          { batch: r.batch, root: r.root, restored: r.restored, alreadyPresent: r.alreadyPresent },
          o.format,
        );
      return renderRestore(
        { batch: r.batch, root: r.root, repositories: r.repositories, recreated: [], redated: 0 },
        o.format,
      );
    } finally {
      await release();
    }
  } finally {
    bucket.close();
  }
}

/** Puts a batch back; holds the storage root's prune lock and the quarantine's lock throughout. */
export function runRestore(o: { batch: string; root?: string; format: Format; now: number }): string {
  const batch = path.resolve(o.batch);
  if (isGcBatch(batch)) return runGcRestore({ ...o, batch });
  const journal = readJournal(batch);
  const v2 = o.root !== undefined ? resolveStorageRoot(o.root).v2 : journal.root;
  const releaseRoot = acquirePruneLock(resolveStorageRoot(v2).v2);
  try {
    const releaseQuarantine = acquireQuarantineLock(path.dirname(batch));
    try {
      return renderRestore(restoreBatch(processFs(), batch, { v2, now: o.now }), o.format);
    } finally {
      releaseQuarantine();
    }
  } finally {
    releaseRoot();
  }
}

/** A batch `gc --quarantine` wrote: every item goes back where it was, under the same locks. */
function runGcRestore(o: { batch: string; root?: string; format: Format; now: number }): string {
  const v2 = resolveStorageRoot(o.root ?? readGcJournal(o.batch).root).v2;
  const releaseRoot = acquirePruneLock(v2);
  try {
    const releaseQuarantine = acquireQuarantineLock(path.dirname(o.batch));
    try {
      return renderGcRestore(restoreGcBatch(processFs(), o.batch, { v2, now: o.now }), o.format);
    } finally {
      releaseQuarantine();
    }
  } finally {
    releaseRoot();
  }
}

/** gc batches (gc.json) beside prune's, in list and purge. */
const gcBatches: ForeignBatchReader = (p) => {
  const info = gcBatchInfo(p);
  return info && { ...info, ...batchSize(gcBatchFiles(p)) };
};

export function runQuarantineList(o: { dir: string; format: Format }): string {
  const dir = path.resolve(o.dir);
  return renderBatches(dir, listBatches(dir, gcBatches), o.format);
}

export function runQuarantinePurge(o: {
  dir: string;
  olderThanMs: number;
  dryRun: boolean;
  format: Format;
  now: number;
}): string {
  const dir = path.resolve(o.dir);
  if (o.dryRun)
    return renderPurge(dir, purgeDecisions(listBatches(dir, gcBatches), o.now, o.olderThanMs), false, o.format);
  const release = acquireQuarantineLock(dir);
  try {
    const decisions = purgeBatches(processFs(), dir, purgeDecisions(listBatches(dir, gcBatches), o.now, o.olderThanMs));
    return renderPurge(dir, decisions, true, o.format);
  } finally {
    release();
  }
}

/** The prune journal of an index (the named one, else the only default one); read-only. */
export function runJournal(o: { dbFile?: string; run?: number; limit: number; format: Format }): string {
  const dbFile = o.dbFile ?? soleDefaultIndex();
  const db = openIndexForRead(dbFile);
  try {
    return guardIndex(dbFile, () => {
      if (o.run === undefined) return renderRuns(pruneRuns(db, o.limit), o.format, gcRuns(db, o.limit));
      const run = pruneRun(db, o.run);
      if (!run) throw new IndexError(`${dbFile}: no prune run ${o.run} in this index`);
      return renderRun(run, pruneActions(db, o.run), o.format);
    });
  } finally {
    db.close();
  }
}
