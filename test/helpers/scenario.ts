/**
 * The end-to-end setup the real-registry tests share: start a registry, push with skopeo, delete
 * through the API, stop it, run its garbage-collect; and the seed scenario several suites push.
 */
import assert from 'node:assert/strict';
import type { GcJson } from './json.js';
import {
  catalog,
  deleteTag,
  garbageCollect,
  pushBlobOnly,
  pushImage,
  pushIndex,
  pulls,
  pullsWithSkopeo,
  startRegistry,
  startUpload,
  type GcResult,
  type PushedImage,
  type PushedIndex,
  type Registry,
} from './registry.js';

/** Runs the registry's garbage-collect over a stopped registry or a storage root; requires exit 0. */
export function collect(target: Registry | string, opts: { deleteUntagged?: boolean } = {}): GcResult {
  const gc = garbageCollect(target, opts);
  assert.equal(gc.code, 0, `garbage-collect failed:\n${gc.stderr}\n${gc.stdout}`);
  return gc;
}

/**
 * Starts a registry, runs `push` against it, stops it (also when `push` throws), then runs its
 * garbage-collect (stop-the-world) unless `gc` is false. Returns what `push` returned.
 */
export async function pushThenCollect<T>(
  start: () => Promise<Registry>,
  push: (r: Registry) => Promise<T>,
  opts: { gc?: boolean } = {},
): Promise<T> {
  let started: Registry | undefined;
  const out = await withRegistry(async () => (started = await start()), push);
  if ((opts.gc ?? true) && started) collect(started);
  return out;
}

/** Starts a registry, runs `use` against it, and stops it, also when `use` throws. Returns what `use` returned. */
export async function withRegistry<T>(start: () => Promise<Registry>, use: (r: Registry) => Promise<T>): Promise<T> {
  const r = await start();
  try {
    return await use(r);
  } finally {
    await r.stop();
  }
}

/** Live after the seed scenario: every one of these tags must still pull after a prune. */
export const SEED_LIVE: Record<string, string[]> = {
  'org/team/app': ['v1', 'v2'],
  'library/alpine': ['3.19'],
  'tools/builder': ['latest'],
  'a.b/c_d/e__f/g-h': ['1.0'],
  'platform/multi': ['latest'],
};

/** Emptied through the API by the seed scenario: what prune removes. */
export const SEED_EMPTY = ['myimage', 'org/team'];

/**
 * The seed scenario: the user's case (myimage: every tag deleted through the API), an emptied
 * parent with a live nested child, a partial delete, a moved tag (its old revision stays
 * untagged), a deep name with every separator, and a multi-arch index.
 */
export async function pushSeedScenario(r: Registry): Promise<{ builderOld: PushedImage }> {
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
  return { builderOld };
}

/**
 * Starts a registry on `root` and requires every repository in its `_catalog` and every tag to
 * pull (an empty tag: listed only); stops it even on failure.
 */
export async function assertServes(root: string, tags: Array<[string, string]>, what: string): Promise<void> {
  await withRegistry(
    () => startRegistry(root),
    async (reg) => {
      const cat = await catalog(reg);
      for (const [repo, tag] of tags) {
        assert.ok(cat.includes(repo), `${what}: ${repo} missing from _catalog ${cat}`);
        if (tag) assert.ok(await pulls(reg, repo, tag), `${what}: ${repo}:${tag} does not pull`);
      }
    },
  );
}

// ---------------------------------------------------------------------------------------------------------
// The gc history: the same pushes for `regaudit gc` on a filesystem (test/e2e/gc-apply-equality.test.ts)
// and on a bucket (test/s3/rgw-gc.test.ts), and what the registry must serve after each kind of run.

/** The tags of the gc history that must pull after any gc. */
export const GC_TAGS: Array<[string, string]> = [
  ['app', 'v1'],
  ['app', 'v2'],
  ['team', 'v1'],
  ['team/app', 'v1'],
  ['other', 'v1'],
  ['platform/multi', 'latest'],
];
/** The catalog after a gc: lib (emptied) and pending (a blob, no manifest) are gone. */
export const GC_LIVE = ['app', 'other', 'platform/multi', 'team', 'team/app'];
/** The catalog before a gc, and after restoring its quarantine batch. */
export const GC_ALL = ['app', 'lib', 'other', 'pending', 'platform/multi', 'team', 'team/app'];

export interface GcPushed {
  /** app's first v1, untagged by the second push of v1. */
  appOld: PushedImage;
  multi: PushedIndex;
}

/**
 * The gc history: a moved tag (its old revision stays, untagged), a nested repository, an OCI image,
 * an emptied repository (lib), a blob without its manifest (pending), an upload left open, a
 * multi-arch index.
 */
export async function pushGcHistory(r: Registry): Promise<GcPushed> {
  const appOld = await pushImage(r, 'app', 'v1', { layers: ['shared base', 'app 1'] });
  await pushImage(r, 'app', 'v1', { layers: ['shared base', 'app 2'] }); // appOld untagged
  await pushImage(r, 'app', 'v2', { layers: ['shared base', 'app 2'] });
  await pushImage(r, 'team', 'v1', { layers: ['team'] });
  await pushImage(r, 'team/app', 'v1', { layers: ['team app'] }, { format: 'oci' });
  await pushImage(r, 'other', 'v1', { layers: ['shared base', 'other'] });
  await pushImage(r, 'lib', 'v1', { layers: ['lib 1'] });
  await deleteTag(r, 'lib', 'v1'); // lib: empty
  await pushBlobOnly(r, 'pending', 'a layer whose manifest never came');
  await startUpload(r, 'app', 'half an upload');
  const multi = await pushIndex(r, 'platform/multi', 'latest', [
    { layers: ['multi amd64'] },
    { layers: ['multi arm64'] },
  ]);
  return { appOld, multi };
}

/**
 * `gc --apply` of the gc history skipped nothing, the blob bytes on the storage dropped by exactly the
 * plan's total, and the run freed that plus the uploads' bytes.
 */
export function assertFreedThePlan(res: GcJson, blobBytesBefore: number, blobBytesAfter: number): void {
  assert.equal(res.result?.skipped, 0, JSON.stringify(res.items.filter((i) => i.outcome === 'skipped')));
  assert.equal(blobBytesBefore - blobBytesAfter, res.totals.blobBytes);
  assert.equal(
    res.result?.bytesFreed,
    res.totals.blobBytes + res.items.filter((i) => i.kind === 'upload').reduce((n, i) => n + i.bytes, 0),
  );
}

/** After `gc --apply` (no --delete-untagged): the catalog is the live repositories, every tag pulls, and so does appOld. */
export async function assertServedAfterGc(reg: Registry, pushed: GcPushed): Promise<void> {
  assert.deepEqual((await catalog(reg)).sort(), GC_LIVE);
  for (const [repo, tag] of GC_TAGS) assert.ok(await pulls(reg, repo, tag), `${repo}:${tag}`);
  assert.ok(pullsWithSkopeo(reg, 'platform/multi', 'latest'), 'skopeo copy --all of the index');
  assert.ok(await pulls(reg, 'app', pushed.appOld.digest), 'untagged manifests stay without --delete-untagged');
}

/** After `gc --apply --delete-untagged`: every tag and every platform of the index pulls; appOld does not. */
export async function assertServedAfterDeleteUntagged(reg: Registry, pushed: GcPushed): Promise<void> {
  for (const [repo, tag] of GC_TAGS) assert.ok(await pulls(reg, repo, tag), `${repo}:${tag}`);
  for (const c of pushed.multi.children) assert.ok(await pulls(reg, 'platform/multi', c.digest), c.digest);
  assert.ok(pullsWithSkopeo(reg, 'platform/multi', 'latest'));
  assert.equal(await pulls(reg, 'app', pushed.appOld.digest), false);
}

/** After restoring the batch of `gc --apply --delete-untagged --quarantine`: everything is served again. */
export async function assertServedAfterRestore(reg: Registry, pushed: GcPushed): Promise<void> {
  assert.ok(await pulls(reg, 'app', pushed.appOld.digest), 'the untagged image is served again');
  for (const [repo, tag] of GC_TAGS) assert.ok(await pulls(reg, repo, tag), `${repo}:${tag}`);
  assert.deepEqual((await catalog(reg)).sort(), GC_ALL);
}
