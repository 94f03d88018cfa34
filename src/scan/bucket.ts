/**
 * A scan of registry storage in a bucket: the same index rows as a filesystem scan, from one flat
 * listing (storage/s3/read.ts). Always a full listing (the incremental rescan relies on directory
 * stamps a bucket does not have), but a repeat scan takes unchanged manifests from the previous scan
 * of the root (index/bucket-manifests.ts) unless `full`.
 */
import type { DB } from '../index/open.js';
import { completeScan, dropScansOf, insertScan, restoreIndexes, suspendIndexes } from '../index/scans.js';
import { deriveGraph } from '../index/derive.js';
import { ManifestEtags, PriorManifests } from '../index/bucket-manifests.js';
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
}

export interface BucketScan {
  scanId: number;
  v2Url: string;
  rootDirectory: string;
  files: number;
  repositories: number;
  requests: RequestCounts;
  manifests: { read: number; reused: number };
}

export async function scanBucket(db: DB, given: string, opts: BucketScanOptions): Promise<BucketScan> {
  const location = parseS3Url(given);
  const bucket = await Bucket.open(location, opts.s3);
  try {
    const started = opts.now();
    db.exec('BEGIN IMMEDIATE');
    let prior: PriorManifests | undefined;
    try {
      prior = opts.full ? undefined : PriorManifests.capture(db, location.v2Url);
      dropScansOf(db, location.v2Url);
      const indexes = suspendIndexes(db);
      const scanId = insertScan(db, location.v2Url, given, started, false);
      db.prepare(`UPDATE scans SET storage_kind = 's3' WHERE id = ?`).run(scanId);
      const sink = new CollectingSink(new IndexWriter(db, scanId), opts.onProgress);
      const etags = new ManifestEtags(db, scanId);
      const memory = {
        has: (d: Digest) => prior?.has(d) ?? false,
        recall: (d: Digest, o: ListedObject) => prior?.recall(d, o),
        remember: (d: Digest, etag: string) => etags.remember(d, etag),
      };
      const reader = new BucketReader(bucket, sink, memory);
      await reader.read();
      prior?.close();
      prior = undefined;
      opts.phase('list');
      if (reader.stats.keys === 0)
        throw new StorageError(
          `${given}: not registry storage (no keys under ${location.v2Prefix} in bucket ${location.bucket})`,
        );
      restoreIndexes(db, indexes);
      opts.phase('indexes');
      deriveGraph(db, scanId);
      opts.phase('graph');
      completeScan(db, scanId, { files: reader.stats.keys, dirs: -1, finishedMs: opts.now() });
      db.exec('COMMIT');
      opts.phase('commit');
      return {
        scanId,
        v2Url: location.v2Url,
        rootDirectory: `s3://${location.bucket}/${location.rootDirectory}`,
        files: reader.stats.keys,
        repositories: reader.stats.repositories,
        requests: { ...bucket.counts },
        manifests: { read: reader.stats.manifestsRead, reused: reader.stats.manifestsReused },
      };
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      prior?.close();
      throw err;
    }
  } finally {
    bucket.close();
  }
}
