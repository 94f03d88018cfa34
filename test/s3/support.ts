/**
 * Shared pieces of the object-storage tests: the real-registry scenario (pushed the same way to a
 * filesystem registry and to one on a bucket), and an S3 client on the test RGW.
 */
import assert from 'node:assert/strict';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  deleteTag,
  garbageCollect,
  pushBlobOnly,
  pushImage,
  pushIndex,
  requireRegistryTools,
  startUpload,
  type PushedImage,
  type Registry,
} from '../helpers/registry.js';
import { requireCephTools, type Ceph } from '../helpers/ceph.js';

/** The skip reason of a suite needing both the registry and Ceph (CI=1 makes a missing tool a failure). */
export function rgwSuiteSkip(): string | undefined {
  return requireRegistryTools().skip || requireCephTools().skip || undefined;
}

/** Repositories every live tag of which must still pull after a prune. */
export const LIVE: Record<string, string[]> = {
  'org/team/app': ['v1', 'v2'],
  'library/alpine': ['3.19'],
  'tools/builder': ['latest'],
  'a.b/c_d/e__f/g-h': ['1.0'],
  'platform/multi': ['latest'],
};
/** Emptied through the API: what prune removes. */
export const EMPTY = ['myimage', 'org/team'];

export interface Pushed {
  builderOld: PushedImage;
}

/**
 * The filesystem suite's scenarios in one storage: the seed case (myimage: every tag deleted), an
 * emptied parent with a live child, a partial delete, a moved tag, a multi-arch index, deep names,
 * a push without its manifest (pending) and an upload in progress (uploading). Then the registry's
 * own garbage-collect (stopped registry), and one more blob-only push for the next GC to collect.
 */
export async function populate(start: () => Promise<Registry>): Promise<Pushed> {
  const r = await start();
  await pushImage(r, 'myimage', 'mytag', { layers: ['myimage base', 'myimage app 1'] });
  await pushImage(r, 'myimage', 'old', { layers: ['myimage base', 'myimage app 0'] }, { format: 'oci' });
  await deleteTag(r, 'myimage', 'mytag');
  await deleteTag(r, 'myimage', 'old');

  await pushImage(r, 'org/team', 'v1', { layers: ['shared base', 'team tools'] });
  await deleteTag(r, 'org/team', 'v1');
  await pushImage(r, 'org/team/app', 'v1', { layers: ['shared base', 'team app 1'] });
  await pushImage(r, 'org/team/app', 'v2', { layers: ['shared base', 'team app 2'] });

  await pushImage(r, 'library/alpine', '3.18', { layers: ['alpine 3.18'] });
  await pushImage(r, 'library/alpine', '3.19', { layers: ['alpine 3.19'] });
  await deleteTag(r, 'library/alpine', '3.18');

  const builderOld = await pushImage(r, 'tools/builder', 'latest', { layers: ['shared base', 'builder 1'] });
  await pushImage(r, 'tools/builder', 'latest', { layers: ['shared base', 'builder 2'] });

  await pushImage(r, 'a.b/c_d/e__f/g-h', '1.0', { layers: ['deep'] }, { format: 'oci' });
  await pushIndex(r, 'platform/multi', 'latest', [{ layers: ['multi amd64'] }, { layers: ['multi arm64'] }]);

  await pushBlobOnly(r, 'pending', 'a layer whose manifest never came');
  await startUpload(r, 'uploading', 'the first bytes of a layer');
  await r.stop();
  const gc = garbageCollect(r);
  assert.equal(gc.code, 0, `garbage-collect failed:\n${gc.stderr}\n${gc.stdout}`);
  // Garbage for the next GC to find: a layer pushed after this one, without a manifest.
  const again = await start();
  await pushBlobOnly(again, 'pending', 'a second layer, pushed after GC');
  await again.stop();
  return { builderOld };
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
