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
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCliAsync as runAsync } from '../helpers/cli.js';
import {
  catalog,
  deleteTag,
  garbageCollect,
  pulls,
  pushBlobOnly,
  pushImage,
  requireRegistryTools,
  startRegistry,
  startUpload,
} from '../helpers/registry.js';
import { V2, assertSameSnapshot, copyTree, memTempDir, snapshotDiff, storageSnapshot } from './support.js';

const tools = requireRegistryTools();

const LIVE: Record<string, string> = { keep: 'v2', 'org/team/app': 'v1', untagged: '' };
const EMPTY = ['blobonly', 'lib', 'org/team', 'solo/deep/one', 'stale-upload'];

/** Everything inside the live repositories' parts and blobs/: what the registry serves. */
function served(root: string): Map<string, string> {
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

/** Runs `attempt(n)` for n = 1, 2, … (a few at a time) until one completes without being killed; returns how many were killed. */
async function everyKillPoint(attempt: (n: number) => Promise<boolean>): Promise<number> {
  // the runs mostly wait on process start-up and the filesystem: a few more than the cores
  const width = Math.max(3, Math.min(8, os.availableParallelism() * 2));
  for (let base = 1; base < 2000; base += width) {
    const finished = await Promise.all(Array.from({ length: width }, (_, i) => attempt(base + i)));
    const first = finished.indexOf(true);
    if (first >= 0) return base + first - 1;
  }
  throw new Error('prune never finished');
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
      const reg = await startRegistry(pristine);
      try {
        await pushImage(reg, 'keep', 'v1', { layers: ['shared base', 'keep 1'] });
        await pushImage(reg, 'keep', 'v2', { layers: ['shared base', 'keep 2'] });
        await deleteTag(reg, 'keep', 'v1');
        await pushImage(reg, 'lib', 'v1', { layers: ['shared base', 'lib 1'] }, { format: 'oci' });
        await deleteTag(reg, 'lib', 'v1');
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
      } finally {
        await reg.stop();
      }
      const gc = garbageCollect(pristine);
      assert.equal(gc.code, 0, gc.stderr);
      pristineServed = served(pristine);
      pristineAll = storageSnapshot(pristine);
      // the uninterrupted result
      const ref = path.join(work, 'reference');
      copyTree(pristine, ref);
      const r = await runAsync([
        'prune',
        ref,
        '--db',
        path.join(work, 'ref.db'),
        '--format',
        'json',
        '--apply',
        '--min-age',
        '0s',
        '--upload-age',
        '0s',
        '--jobs',
        '0',
      ]);
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

    const servesLive = async (root: string, what: string): Promise<void> => {
      const reg = await startRegistry(root);
      try {
        const cat = await catalog(reg);
        for (const [repo, tag] of Object.entries(LIVE)) {
          assert.ok(cat.includes(repo), `${what}: ${repo} missing from _catalog ${cat}`);
          if (tag) assert.ok(await pulls(reg, repo, tag), `${what}: ${repo}:${tag} does not pull`);
        }
      } finally {
        await reg.stop();
      }
    };

    for (const mode of ['delete', 'quarantine'] as const) {
      it(`${mode}: every kill point leaves live repositories intact, and a rerun finishes the job`, async (t) => {
        const killedAt: number[] = [];
        const sampled: string[] = [];
        const kills = await everyKillPoint(async (n) => {
          const dir = path.join(work, `${mode}-${n}`);
          const root = path.join(dir, 'storage');
          mkdirSync(dir);
          copyTree(pristine, root);
          const q = path.join(dir, 'quarantine');
          const args = [
            'prune',
            root,
            '--db',
            path.join(dir, 'db'),
            '--format',
            'json',
            '--apply',
            '--min-age',
            '0s',
            '--upload-age',
            '0s',
            '--jobs',
            '0',
            ...(mode === 'quarantine' ? ['--quarantine', q] : []),
          ];
          const first = await runAsync(args, { REGAUDIT_CRASH_AT: String(n) });
          if (first.signal === null) {
            assert.equal(first.code, 0, first.stderr);
            rmSync(dir, { recursive: true, force: true });
            return true;
          }
          assert.equal(first.signal, 'SIGKILL', `kill point ${n}: ${first.stderr}`);
          killedAt.push(n);
          assertSameSnapshot(pristineServed, served(root), `kill point ${n}: what the registry serves`);
          if (n % 9 === 4) {
            sampled.push(String(n));
            copyTree(root, `${root}-served`);
            await servesLive(`${root}-served`, `kill point ${n}`);
          }
          const rerun = await runAsync(args);
          assert.equal(rerun.code, 0, `rerun after kill point ${n}: ${rerun.stderr}`);
          assertSameSnapshot(pristineServed, served(root), `after the rerun of kill point ${n}`);
          assert.deepEqual(leftovers(root), [], `after the rerun of kill point ${n}`);
          assert.deepEqual(
            snapshotDiff(new Map(reference.map((l) => [l, ''])), new Map(shape(root).map((l) => [l, '']))),
            [],
            `kill point ${n}: result differs from an uninterrupted run`,
          );
          for (const e of EMPTY)
            for (const p of ['_layers', '_manifests', '_uploads'])
              assert.ok(!existsSync(path.join(root, V2, 'repositories', e, p)), `${n}: ${e}/${p}`);
          if (mode === 'quarantine') {
            const batches = readdirSync(q).filter((x) => !x.startsWith('.'));
            assert.equal(batches.length, 1, `kill point ${n}: one batch, resumed (${batches})`);
            const restored = await runAsync(['restore', path.join(q, batches[0]!), '--format', 'json']);
            assert.equal(restored.code, 0, `restore after kill point ${n}: ${restored.stderr}`);
            assertSameSnapshot(pristineAll, storageSnapshot(root), `kill point ${n}, rerun, restore`);
          }
          rmSync(dir, { recursive: true, force: true });
          return false;
        });
        assert.ok(kills >= 20, `only ${kills} kill points`);
        assert.equal(killedAt.length, kills);
        assert.ok(sampled.length >= 2, 'the registry was started on interrupted storage');
        t.diagnostic(`${mode}: ${kills} kill points, registry checked at ${sampled.join(', ')}`);
      });
    }

    it('restore: every kill point is finished by rerunning restore, and storage ends exactly as it was', async (t) => {
      const base = path.join(work, 'restore-base');
      mkdirSync(base);
      copyTree(pristine, path.join(base, 'storage'));
      const q = path.join(base, 'quarantine');
      const p = await runAsync([
        'prune',
        path.join(base, 'storage'),
        '--db',
        path.join(base, 'db'),
        '--format',
        'json',
        '--apply',
        '--min-age',
        '0s',
        '--upload-age',
        '0s',
        '--jobs',
        '0',
        '--quarantine',
        q,
      ]);
      assert.equal(p.code, 0, p.stderr);
      const kills = await everyKillPoint(async (n) => {
        const dir = path.join(work, `restore-${n}`);
        copyTree(base, dir);
        const batch = path.join(
          dir,
          'quarantine',
          readdirSync(path.join(dir, 'quarantine')).find((x) => !x.startsWith('.'))!,
        );
        const root = path.join(dir, 'storage');
        // the journal names the original root; point restore at the copy
        const args = ['restore', batch, '--root', root, '--format', 'json'];
        const first = await runAsync(args, { REGAUDIT_CRASH_AT: String(n) });
        if (first.signal === null) {
          assert.equal(first.code, 0, first.stderr);
          assertSameSnapshot(pristineAll, storageSnapshot(root), 'uninterrupted restore');
          rmSync(dir, { recursive: true, force: true });
          return true;
        }
        assertSameSnapshot(pristineServed, served(root), `restore kill point ${n}`);
        const rerun = await runAsync(args);
        assert.equal(rerun.code, 0, `restore rerun after kill point ${n}: ${rerun.stderr}`);
        assertSameSnapshot(pristineAll, storageSnapshot(root), `restore kill point ${n} + rerun`);
        assert.deepEqual(leftovers(root), [], `restore kill point ${n}`);
        rmSync(dir, { recursive: true, force: true });
        return false;
      });
      assert.ok(kills >= 10, `only ${kills} kill points`);
      t.diagnostic(`restore: ${kills} kill points`);
    });
  },
);
