/**
 * Shared pieces of the object-storage tests: the real-registry scenario (pushed the same way to a
 * filesystem registry and to one on a bucket), and an S3 client on the test RGW.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  pushBlobOnly,
  requireRegistryTools,
  startUpload,
  type PushedImage,
  type Registry,
} from '../helpers/registry.js';
import { SEED_EMPTY, SEED_LIVE, pushSeedScenario, pushThenCollect } from '../helpers/scenario.js';
import { requireCephTools, type Ceph } from '../helpers/ceph.js';

/** The skip reason of a suite needing both the registry and Ceph (CI=1 makes a missing tool a failure). */
export function rgwSuiteSkip(): string | undefined {
  return requireRegistryTools().skip || requireCephTools().skip || undefined;
}

/** Repositories every live tag of which must still pull after a prune. */
export const LIVE = SEED_LIVE;
/** Emptied through the API: what prune removes. */
export const EMPTY = SEED_EMPTY;

export interface Pushed {
  builderOld: PushedImage;
}

/**
 * The filesystem suite's scenarios in one storage: the seed scenario (test/helpers/scenario.ts),
 * a push without its manifest (pending) and an upload in progress (uploading). Then the registry's
 * own garbage-collect (stopped registry), and one more blob-only push for the next GC to collect.
 */
export async function populate(start: () => Promise<Registry>): Promise<Pushed> {
  const pushed = await pushThenCollect(start, async (r) => {
    const seed = await pushSeedScenario(r);
    await pushBlobOnly(r, 'pending', 'a layer whose manifest never came');
    await startUpload(r, 'uploading', 'the first bytes of a layer');
    return seed;
  });
  // Garbage for the next GC to find: a layer pushed after this one, without a manifest.
  await pushThenCollect(start, (r) => pushBlobOnly(r, 'pending', 'a second layer, pushed after GC'), { gc: false });
  return pushed;
}

/** An SDK client on the test RGW (the warning about Node 20 silenced before the SDK loads). */
export async function s3Client(ceph: Ceph): Promise<{ client: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const sdk = await import('@aws-sdk/client-s3');
  const client = new sdk.S3Client({
    region: 'us-east-1',
    endpoint: ceph.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: ceph.accessKey, secretAccessKey: ceph.secretKey },
  });
  return { client, sdk };
}

/** Every key under `prefix` in `bucket`. */
export async function keysUnder(ceph: Ceph, bucket: string, prefix: string): Promise<string[]> {
  const { client, sdk } = await s3Client(ceph);
  try {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await client.send(
        new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) out.push(o.Key!);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  } finally {
    client.destroy();
  }
}
