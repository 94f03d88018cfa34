/**
 * A scan of registry storage in a bucket: the same index rows as a filesystem scan, from one flat
 * listing (storage/s3/read.ts). Always a full listing (the incremental rescan relies on directory
 * stamps a bucket does not have), but a repeat scan takes unchanged manifests from the previous scan
 * of the root (index/bucket-manifests.ts) unless `full`.
 */
import { openIndexForRebuild, openIndexForWrite, type DB } from '../index/open.js';
import { completeScan, dropScansOf, insertScan, restoreIndexes, suspendIndexes } from '../index/scans.js';
import { deriveGraph } from '../index/derive.js';
import { ManifestEtags, PriorManifests, previousBucketScan } from '../index/bucket-manifests.js';
import { abandonRebuild, claimRebuild, finishRebuild, startRebuild, type Rebuild } from '../index/rebuild.js';
import { IndexWriter } from '../index/writes.js';
import { StorageError } from '../errors.js';
import { Bucket, type ListedObject, type RequestCounts, type S3Settings } from '../storage/s3/client.js';
import type { Digest } from '../layout/digest.js';
import { parseS3Url } from '../storage/s3/location.js';
import { BucketReader } from '../storage/s3/read.js';
import { CollectingSink, type WalkProgress } from './walk.js';

export interface BucketScanOptions {
  now: () => number;
  onProgress?: (p: WalkProgress) => void;
  s3?: S3Settings;
  phase: (name: string) => void;
  /** GET every manifest again, even those the previous scan read from the same objects. */
  full?: boolean;
  /**
   * The index file `db` is: a first scan of the bucket (no previous bucket scan of the root to take
   * manifests from, or `full`) writes a new file and renames it into place (index/rebuild.ts) unless
   * another connection has the index open. Unset: always in place.
   */
  rebuildFile?: string;
}

export interface BucketScan {
  scanId: number;
  v2Url: string;
  rootDirectory: string;
  files: number;
  repositories: number;
  requests: RequestCounts;
  manifests: { read: number; reused: number };
  /** The index holding the scan: `db`, or after a rebuild the new file, opened (`db` is then closed). */
  db: DB;
  rebuilt?: true;
}

export async function scanBucket(db: DB, given: string, opts: BucketScanOptions): Promise<BucketScan> {
  const location = parseS3Url(given);
  const bucket = await Bucket.open(location, opts.s3);
  try {
    const started = opts.now();
    // A first scan has nothing to carry over from the index it replaces: it may write a new file, as a
    // full filesystem scan does. The journal mode only changes outside a transaction: claim it before.
    const file = opts.rebuildFile;
    const claimed =
      file !== undefined &&
      file !== ':memory:' &&
      (opts.full || previousBucketScan(db, location.v2Url) === undefined) &&
      claimRebuild(db);
    db.exec('BEGIN IMMEDIATE');
    let prior: PriorManifests | undefined;
    let rebuild: Rebuild | undefined;
    try {
      // Captured on the previous file's connection (temporary tables), so it serves a rebuild too.
      prior = opts.full ? undefined : PriorManifests.capture(db, location.v2Url);
      let target = db;
      if (claimed) {
        rebuild = startRebuild(file, location.v2Url, openIndexForRebuild);
        target = rebuild.db;
      } else dropScansOf(db, location.v2Url);
      const indexes = suspendIndexes(target);
      const scanId = insertScan(target, location.v2Url, given, started, false);
      target.prepare(`UPDATE scans SET storage_kind = 's3' WHERE id = ?`).run(scanId);
      const sink = new CollectingSink(new IndexWriter(target, scanId), opts.onProgress);
      const etags = new ManifestEtags(target, scanId);
      const memory = {
        has: (d: Digest) => prior?.has(d) ?? false,
        recall: (d: Digest, o: ListedObject) => prior?.recall(d, o),
        remember: (d: Digest, etag: string) => etags.remember(d, etag),
      };
      const reader = new BucketReader(bucket, sink, memory);
      await reader.read();
      etags.flush();
      prior?.close();
      prior = undefined;
      opts.phase('list');
      if (reader.stats.keys === 0)
        throw new StorageError(
          `${given}: not registry storage (no keys under ${location.v2Prefix} in bucket ${location.bucket})`,
        );
      restoreIndexes(target, indexes);
      opts.phase('indexes');
      deriveGraph(target, scanId);
      opts.phase('graph');
      completeScan(target, scanId, { files: reader.stats.keys, dirs: -1, finishedMs: opts.now() });
      const result = {
        scanId,
        v2Url: location.v2Url,
        rootDirectory: `s3://${location.bucket}/${location.rootDirectory}`,
        files: reader.stats.keys,
        repositories: reader.stats.repositories,
        requests: { ...bucket.counts },
        manifests: { read: reader.stats.manifestsRead, reused: reader.stats.manifestsReused },
      };
      if (rebuild) {
        finishRebuild(rebuild, db);
        rebuild = undefined;
        opts.phase('commit');
        return { ...result, db: openIndexForWrite(file!), rebuilt: true };
      }
      db.exec('COMMIT');
      opts.phase('commit');
      return { ...result, db };
    } catch (err) {
      if (rebuild) abandonRebuild(rebuild);
      if (db.open && db.inTransaction) db.exec('ROLLBACK');
      if (db.open) prior?.close();
      throw err;
    }
  } finally {
    bucket.close();
  }
}
