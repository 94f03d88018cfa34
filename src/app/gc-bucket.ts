/**
 * `regaudit gc --apply` on object storage: the lock object at the root, a quarantine batch in a
 * bucket (storage/s3/quarantine.ts, the one bucket prune uses), and the bucket applier
 * (reclaim/bucket.ts). Reports the requests the apply made, by kind.
 */
import { UsageError } from '../errors.js';
import { acquireBucketLock } from '../prune/bucket-lock.js';
import type { GcApplyResult, ScannedRepository } from '../reclaim/apply.js';
import { applyGcToBucket } from '../reclaim/bucket.js';
import type { GcPlan } from '../reclaim/plan.js';
import { Bucket, type RequestCounts } from '../storage/s3/client.js';
import { isS3Url, parseS3Url } from '../storage/s3/location.js';
import { BucketBatch } from '../storage/s3/quarantine.js';

/** A bucket's quarantine is another s3:// location: refused before anything is scanned or changed. */
export function checkBucketQuarantine(quarantine: string | undefined): void {
  if (quarantine !== undefined && !isS3Url(quarantine))
    throw new UsageError(
      `--quarantine ${quarantine}: a bucket's quarantine is an s3://BUCKET/PREFIX location; nothing was changed`,
    );
}

export interface BucketGcRun {
  result: GcApplyResult;
  batch?: string;
  requests: RequestCounts;
}

export async function applyGcOnBucket(
  plan: GcPlan,
  root: string,
  scanned: readonly ScannedRepository[],
  o: { quarantine?: string; now: () => number },
): Promise<BucketGcRun> {
  checkBucketQuarantine(o.quarantine);
  const bucket = await Bucket.open(parseS3Url(root));
  let batch: BucketBatch | undefined;
  const requests = (): RequestCounts => {
    const sum = { ...bucket.counts };
    if (batch) for (const [k, n] of Object.entries(batch.store.counts)) sum[k as keyof RequestCounts] += n;
    return sum;
  };
  try {
    const release = await acquireBucketLock(bucket);
    try {
      if (o.quarantine !== undefined && plan.blocked.length === 0)
        batch = await BucketBatch.open(o.quarantine, root, o.now(), 'gc');
      const result = await applyGcToBucket(bucket, plan, { scanned, ...(batch ? { batch } : {}) });
      await batch?.finish('complete');
      return { result, ...(batch ? { batch: batch.url } : {}), requests: requests() };
    } catch (err) {
      try {
        await batch?.finish('failed');
      } catch {
        // the batch stays `running`; the next gc resumes it and restore puts back whatever it holds
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
