/**
 * The end-to-end setup the real-registry tests share: start a registry, push with skopeo, delete
 * through the API, stop it, run its garbage-collect; and the seed scenario several suites push.
 */
import assert from 'node:assert/strict';
import {
  catalog,
  deleteTag,
  garbageCollect,
  pushImage,
  pushIndex,
  pulls,
  startRegistry,
  type GcResult,
  type PushedImage,
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
  const r = await start();
  let out: T;
  try {
    out = await push(r);
  } finally {
    await r.stop();
  }
  if (opts.gc ?? true) collect(r);
  return out;
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
  const reg = await startRegistry(root);
  try {
    const cat = await catalog(reg);
    for (const [repo, tag] of tags) {
      assert.ok(cat.includes(repo), `${what}: ${repo} missing from _catalog ${cat}`);
      if (tag) assert.ok(await pulls(reg, repo, tag), `${what}: ${repo}:${tag} does not pull`);
    }
  } finally {
    await reg.stop();
  }
}
