/**
 * Crash safety of `regaudit gc --apply --delete-untagged` over storage written by the real registry:
 * killed with SIGKILL right before its 1st, 2nd, … mutating filesystem call (REGAUDIT_CRASH_AT), until
 * a run gets through. After every kill, nothing an uninterrupted run keeps is missing or changed (so
 * every tag still pulls); at sampled kill points the registry is started on the interrupted storage
 * and must serve every tag; a rerun finishes the job with exactly the uninterrupted result. In
 * quarantine mode, restoring every batch afterwards gives back every file of the original storage.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runArgs, runCliAsync as runAsync } from '../helpers/cli.js';
import { killAtEveryPoint } from '../helpers/kill-points.js';
import { pushThenCollect } from '../helpers/scenario.js';
import {
  pushBlobOnly,
  pushImage,
  pushIndex,
  requireRegistryTools,
  startRegistry,
  startUpload,
} from '../helpers/registry.js';
import { ServedAtKillPoints, copyTree, memTempDir, pushKeepAndLib, snapshotDiff, storageSnapshot } from './support.js';

const tools = requireRegistryTools();

const TAGS: Array<[string, string]> = [
  ['keep', 'v2'],
  ['org/team/app', 'v1'],
  ['multi', 'latest'],
];

/** Files only (paths and contents, no directories, no times): what the registry can read. */
function files(root: string): Map<string, string> {
  return new Map(
    [...storageSnapshot(root, { mtimes: false })]
      .filter(([k]) => !k.endsWith('/'))
      .map(([k, v]) => [k, v.replace(/ mode=\S+ uid=\S+ gid=\S+/, '')]),
  );
}

/** Blob digest directories without anything in them (what a kill between a blob's data and its directory leaves). */
function emptyBlobDirs(root: string): string[] {
  const blobs = path.join(root, 'docker/registry/v2/blobs');
  const out: string[] = [];
  for (const alg of readdirSync(blobs))
    for (const fan of readdirSync(path.join(blobs, alg)))
      for (const hex of readdirSync(path.join(blobs, alg, fan)))
        if (readdirSync(path.join(blobs, alg, fan, hex)).length === 0) out.push(`${alg}/${fan}/${hex}`);
  return out;
}

const gcArgs = (root: string, db: string, q?: string): string[] =>
  runArgs('gc', root, db, { apply: true, jobs: 0, quarantine: q, extra: ['--delete-untagged'] });

describe(
  'crash safety of gc: SIGKILL before each mutating call, then rerun',
  { skip: tools.skip || undefined, timeout: 900_000 },
  () => {
    let work = '';
    let pristine = '';
    let pristineFiles: Map<string, string>;
    let reference: Map<string, string>;

    before(async () => {
      work = memTempDir('gc-crash');
      pristine = path.join(work, 'pristine');
      await pushThenCollect(
        () => startRegistry(pristine),
        async (reg) => {
          await pushKeepAndLib(reg);
          await pushImage(reg, 'org/team/app', 'v1', { layers: ['shared base', 'app 1'] });
          await pushImage(reg, 'org/team/app', 'v1', { layers: ['shared base', 'app 2'] });
          await pushIndex(reg, 'multi', 'latest', [{ layers: ['multi amd64'] }, { layers: ['multi arm64'] }]);
          await pushBlobOnly(reg, 'blobonly', 'an aborted push');
          await startUpload(reg, 'keep', 'half a layer');
        },
        { gc: false },
      );
      pristineFiles = files(pristine);
      const ref = path.join(work, 'reference');
      copyTree(pristine, ref);
      const r = await runAsync(gcArgs(ref, path.join(work, 'ref.db')));
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { totals: { blobs: number; manifests: number; repositories: number } };
      assert.ok(
        out.totals.blobs >= 4 && out.totals.manifests === 1 && out.totals.repositories === 2,
        JSON.stringify(out.totals),
      );
      reference = files(ref);
    });

    after(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    /** Nothing the uninterrupted run keeps is gone or changed. */
    const keepsReference = (root: string, what: string): void => {
      const now = files(root);
      const lost = [...reference].filter(([k, v]) => now.get(k) !== v).map(([k]) => k);
      assert.deepEqual(lost.slice(0, 10), [], `${what}: ${lost.length} files the full run keeps are gone`);
    };

    for (const mode of ['delete', 'quarantine'] as const) {
      it(`${mode}: every kill point keeps what the registry serves, and a rerun finishes the job`, async (t) => {
        const served = new ServedAtKillPoints(TAGS, 7, 3);
        const root = (n: number): string => path.join(work, `${mode}-${n}`, 'storage');
        const q = (n: number): string | undefined =>
          mode === 'quarantine' ? path.join(work, `${mode}-${n}`, 'quarantine') : undefined;
        const killedAt = await killAtEveryPoint({
          what: 'gc',
          setup: (n) => {
            const dir = path.join(work, `${mode}-${n}`);
            mkdirSync(dir);
            copyTree(pristine, root(n));
            return { dir, args: gcArgs(root(n), path.join(dir, 'db'), q(n)) };
          },
          killed: async (n) => {
            keepsReference(root(n), `kill point ${n}`);
            await served.check(n, root(n));
          },
          rerun: async (n) => {
            assert.deepEqual(emptyBlobDirs(root(n)), [], `kill point ${n}: the rerun left empty blob directories`);
            const diff = snapshotDiff(reference, files(root(n)));
            assert.deepEqual(
              diff.slice(0, 10),
              [],
              `kill point ${n}: the rerun's result differs from an uninterrupted run`,
            );
            const qn = q(n);
            if (qn) {
              const batches = readdirSync(qn).filter((x) => !x.startsWith('.'));
              assert.equal(batches.length, 1, `kill point ${n}: the rerun continues into the killed run's batch`);
              for (const b of readdirSync(qn)
                .filter((x) => !x.startsWith('.'))
                .sort()
                .reverse()) {
                const back = await runAsync(['restore', path.join(qn, b), '--format', 'json']);
                assert.equal(back.code, 0, `restore ${b} after kill point ${n}: ${back.stderr}`);
              }
              const lost = snapshotDiff(pristineFiles, files(root(n)));
              assert.deepEqual(lost.slice(0, 10), [], `kill point ${n}: restore of every batch`);
            }
          },
        });
        t.diagnostic(served.covered(mode, killedAt.length, 15));
      });
    }
  },
);
