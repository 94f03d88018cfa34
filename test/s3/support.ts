/**
 * Shared pieces of the object-storage tests: the real-registry scenario (pushed the same way to a
 * filesystem registry and to one on a bucket), and an S3 client on the test RGW.
 */
import assert from 'node:assert/strict';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  catalog,
  pulls,
  pushBlobOnly,
  pushImage,
  requireRegistryTools,
  startRegistry,
  startUpload,
  type PushedImage,
  type Registry,
  type S3Storage,
} from '../helpers/registry.js';
import { SEED_EMPTY, SEED_LIVE, pushSeedScenario, pushThenCollect, withRegistry } from '../helpers/scenario.js';
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

/** Every key under `prefix` in `bucket` with its size, in listing (key) order. */
export async function objectsUnder(ceph: Ceph, bucket: string, prefix: string): Promise<Map<string, number>> {
  const { client, sdk } = await s3Client(ceph);
  try {
    const out = new Map<string, number>();
    let token: string | undefined;
    do {
      const r = await client.send(
        new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  } finally {
    client.destroy();
  }
}

/** Every key under `prefix` in `bucket`, sorted. */
export async function keysUnder(ceph: Ceph, bucket: string, prefix: string): Promise<string[]> {
  return [...(await objectsUnder(ceph, bucket, prefix)).keys()].sort();
}

/** Writes one object (a key written behind the registry's back). */
export async function putObject(ceph: Ceph, bucket: string, key: string, body: string | Uint8Array): Promise<void> {
  const { client, sdk } = await s3Client(ceph);
  try {
    await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  } finally {
    client.destroy();
  }
}

/** Deletes one object. */
export async function deleteObject(ceph: Ceph, bucket: string, key: string): Promise<void> {
  const { client, sdk } = await s3Client(ceph);
  try {
    await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } finally {
    client.destroy();
  }
}

/** The registry on `storage` with one live image, `live/app:v1`: the bucket the kill tests fill with garbage. */
export async function pushLiveApp(storage: S3Storage): Promise<void> {
  await pushThenCollect(
    () => startRegistry('', { s3: storage }),
    (r) => pushImage(r, 'live/app', 'v1', { layers: ['live base'] }),
    { gc: false },
  );
}

/** After the kill tests' rerun: the registry on `storage` lists only live/app, and live/app:v1 pulls. */
export async function assertOnlyLiveApp(storage: S3Storage): Promise<void> {
  await withRegistry(
    () => startRegistry('', { s3: storage }),
    async (r) => {
      assert.deepEqual(await catalog(r), ['live/app']);
      assert.ok(await pulls(r, 'live/app', 'v1'));
    },
  );
}

/**
 * A loopback HTTP proxy in front of RGW that passes every request on except the GETs `hold` picks,
 * which it never answers: a scan through it lists the bucket, then waits forever on those reads (a
 * process to kill at a known point). SigV4 signs the Host header, which is passed on unchanged.
 */
export async function holdingProxy(
  target: string,
  hold: (method: string, url: string) => boolean,
): Promise<{ endpoint: string; held: () => number; close: () => Promise<void> }> {
  const { createServer, request } = await import('node:http');
  const to = new URL(target);
  let held = 0;
  const server = createServer((req, res) => {
    if (hold(req.method ?? '', req.url ?? '')) {
      held++;
      return; // left unanswered until close()
    }
    const up = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    held: () => held,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
