/**
 * Crash safety over storage written by the REAL registry: prune is killed with SIGKILL right before
 * its 1st, 2nd, … mutating filesystem call (REGAUDIT_CRASH_AT, counted by prune/fsops.ts), until a
 * run gets through. After every kill: no live repository lost or changed a file, and a rerun
 * finishes the job: every empty repository gone, nothing left over, the same result as an
 * uninterrupted run. In quarantine mode, restoring the (single, resumed) batch afterwards gives
 * back the original storage to the nanosecond; restore itself is killed the same way.
 * At a few kill points the registry is started on the interrupted storage and must still serve.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runArgs, runCliAsync as runAsync } from '../helpers/cli.js';
import { killAtEveryPoint } from '../helpers/kill-points.js';
import {
  deleteTag,
  pushBlobOnly,
  pushImage,
  requireRegistryTools,
  startRegistry,
  startUpload,
} from '../helpers/registry.js';
import {
  ServedAtKillPoints,
  V2,
  assertSameSnapshot,
  copyTree,
  memTempDir,
  pushKeepAndLib,
  snapshotDiff,
  storageSnapshot,
} from './support.js';
import { pushThenCollect } from '../helpers/scenario.js';

const tools = requireRegistryTools();

const LIVE: Record<string, string> = { keep: 'v2', 'org/team/app': 'v1', untagged: '' };
const EMPTY = ['blobonly', 'lib', 'org/team', 'solo/deep/one', 'stale-upload'];

/** Everything inside the live repositories' parts and blobs/: what the registry serves. */
function servedFiles(root: string): Map<string, string> {
  const all = storageSnapshot(root);
  const keep = (k: string): boolean =>
    k.startsWith('blobs/') || Object.keys(LIVE).some((n) => k.startsWith(`repositories/${n}/_`));
  return new Map([...all].filter(([k]) => keep(k)));
}

/** Paths and file contents only: the shape of the result, whichever way it was reached. */
function shape(root: string): string[] {
  return [...storageSnapshot(root, { mtimes: false })].map(([k, v]) => `${k} ${v}`).sort();
}

function leftovers(root: string): string[] {
  const out: string[] = [];
  const repos = path.join(root, V2, 'repositories');
  const walk = (abs: string, rel: string): void => {
    const names = readdirSync(abs);
    if (names.length === 0 && rel !== '') out.push(`empty directory ${rel}`);
    for (const n of names) {
      if (n === '_regaudit_trash' || n.startsWith('_regaudit_restoring')) out.push(`${rel}/${n}`);
      if (['_layers', '_manifests', '_uploads', '_regaudit_trash'].includes(n)) continue;
      walk(path.join(abs, n), rel ? `${rel}/${n}` : n);
    }
  };
  walk(repos, '');
  return out;
}

describe(
  'crash safety: SIGKILL before each mutating filesystem call, then rerun',
  { skip: tools.skip || undefined, timeout: 900_000 },
  () => {
    let work = '';
    let pristine = '';
    let reference: string[] = [];
    let pristineServed: Map<string, string>;
    let pristineAll: Map<string, string>;

    before(async () => {
      work = memTempDir('crash');
      pristine = path.join(work, 'pristine');
      await pushThenCollect(
        () => startRegistry(pristine),
        async (reg) => {
          await pushKeepAndLib(reg);
          await pushImage(reg, 'org/team', 'v1', { layers: ['team tools'] });
          await deleteTag(reg, 'org/team', 'v1');
          await pushImage(reg, 'org/team/app', 'v1', { layers: ['shared base', 'app 1'] });
          await pushImage(reg, 'solo/deep/one', 'x', { layers: ['solo'] });
          await deleteTag(reg, 'solo/deep/one', 'x');
          await pushImage(reg, 'untagged', 'v1', { layers: ['untagged 1'] });
          await pushImage(reg, 'untagged', 'v1', { layers: ['untagged 2'] });
          await deleteTag(reg, 'untagged', 'v1');
          await pushBlobOnly(reg, 'blobonly', 'an aborted push');
          await startUpload(reg, 'stale-upload', 'half a layer');
        },
      );
      pristineServed = servedFiles(pristine);
      pristineAll = storageSnapshot(pristine);
      // the uninterrupted result
      const ref = path.join(work, 'reference');
      copyTree(pristine, ref);
      const r = await runAsync(runArgs('prune', ref, path.join(work, 'ref.db'), { apply: true, jobs: 0 }));
      assert.equal(r.code, 0, r.stderr);
      const deleted = (JSON.parse(r.stdout) as { repositories: Array<{ name: string; deleted: boolean }> }).repositories
        .filter((x) => x.deleted)
        .map((x) => x.name)
        .sort();
      assert.deepEqual(deleted, EMPTY, 'the tree has exactly these empty repositories');
      reference = shape(ref);
      assert.deepEqual(leftovers(ref), []);
    });

    after(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    for (const mode of ['delete', 'quarantine'] as const) {
      it(`${mode}: every kill point leaves live repositories intact, and a rerun finishes the job`, async (t) => {
        const served = new ServedAtKillPoints(Object.entries(LIVE), 9, 4);
        const root = (n: number): string => path.join(work, `${mode}-${n}`, 'storage');
        const q = (n: number): string => path.join(work, `${mode}-${n}`, 'quarantine');
        const killedAt = await killAtEveryPoint({
          what: 'prune',
          setup: (n) => {
            const dir = path.join(work, `${mode}-${n}`);
            mkdirSync(dir);
            copyTree(pristine, root(n));
            const args = runArgs('prune', root(n), path.join(dir, 'db'), {
              apply: true,
              jobs: 0,
              quarantine: mode === 'quarantine' ? q(n) : undefined,
            });
            return { dir, args };
          },
          killed: async (n) => {
            assertSameSnapshot(pristineServed, servedFiles(root(n)), `kill point ${n}: what the registry serves`);
            await served.check(n, root(n));
          },
          rerun: async (n) => {
            assertSameSnapshot(pristineServed, servedFiles(root(n)), `after the rerun of kill point ${n}`);
            assert.deepEqual(leftovers(root(n)), [], `after the rerun of kill point ${n}`);
            assert.deepEqual(
              snapshotDiff(new Map(reference.map((l) => [l, ''])), new Map(shape(root(n)).map((l) => [l, '']))),
              [],
              `kill point ${n}: result differs from an uninterrupted run`,
            );
            for (const e of EMPTY)
              for (const p of ['_layers', '_manifests', '_uploads'])
                assert.ok(!existsSync(path.join(root(n), V2, 'repositories', e, p)), `${n}: ${e}/${p}`);
            if (mode === 'quarantine') {
              const batches = readdirSync(q(n)).filter((x) => !x.startsWith('.'));
              assert.equal(batches.length, 1, `kill point ${n}: one batch, resumed (${batches})`);
              const restored = await runAsync(['restore', path.join(q(n), batches[0]!), '--format', 'json']);
              assert.equal(restored.code, 0, `restore after kill point ${n}: ${restored.stderr}`);
              assertSameSnapshot(pristineAll, storageSnapshot(root(n)), `kill point ${n}, rerun, restore`);
            }
          },
        });
        t.diagnostic(served.covered(mode, killedAt.length, 20));
      });
    }

    it('restore: every kill point is finished by rerunning restore, and storage ends exactly as it was', async (t) => {
      const base = path.join(work, 'restore-base');
      mkdirSync(base);
      copyTree(pristine, path.join(base, 'storage'));
      const q = path.join(base, 'quarantine');
      const p = await runAsync(
        runArgs('prune', path.join(base, 'storage'), path.join(base, 'db'), { apply: true, jobs: 0, quarantine: q }),
      );
      assert.equal(p.code, 0, p.stderr);
      const root = (n: number): string => path.join(work, `restore-${n}`, 'storage');
      const killedAt = await killAtEveryPoint({
        what: 'restore',
        setup: (n) => {
          const dir = path.join(work, `restore-${n}`);
          copyTree(base, dir);
          const batch = path.join(
            dir,
            'quarantine',
            readdirSync(path.join(dir, 'quarantine')).find((x) => !x.startsWith('.'))!,
          );
          // the journal names the original root; point restore at the copy
          return { dir, args: ['restore', batch, '--root', root(n), '--format', 'json'] };
        },
        finished: (n) => assertSameSnapshot(pristineAll, storageSnapshot(root(n)), 'uninterrupted restore'),
        killed: (n) => assertSameSnapshot(pristineServed, servedFiles(root(n)), `restore kill point ${n}`),
        rerun: (n) => {
          assertSameSnapshot(pristineAll, storageSnapshot(root(n)), `restore kill point ${n} + rerun`);
          assert.deepEqual(leftovers(root(n)), [], `restore kill point ${n}`);
        },
      });
      const kills = killedAt.length;
      assert.ok(kills >= 10, `only ${kills} kill points`);
      t.diagnostic(`restore: ${kills} kill points`);
    });
  },
);
