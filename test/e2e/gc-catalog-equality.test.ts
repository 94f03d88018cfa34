/**
 * Against storage written by the REAL registry (docker-registry 2.8): what regaudit predicts equals what
 * the registry does.
 * - `catalog --registry-version 2` equals the registry's own `/v2/_catalog`, in its order.
 * - `gc-preview` scenario 2 equals `garbage-collect --dry-run` digest for digest, and the blobs a real
 *   run deletes; scenario 2-m equals `--dry-run --delete-untagged` (blobs and manifests) and the real -m
 *   run, and the multi-arch tag it predicts broken no longer pulls.
 * - the graph findings name the damage a restore and a lost revision link leave.
 * - usage: exclusive + shared + unreferenced = every blobs/**\/data file, before and after GC.
 *
 * Repositories: app (v1 moved, v2 = retag of the first v1), app/2024 (digit-leading child: listed before
 * app), app/b, other (shares app's base layer), lib (deleted through the API), pending (blob, no manifest),
 * platform/multi (OCI index, untagged children), broken (layer blob lost in a restore), norev (revision
 * link lost).
 */
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  catalog,
  deleteTag,
  eligibleForDeletion as eligible,
  garbageCollect,
  pulls,
  pushBlobOnly,
  pushImage,
  pushIndex,
  repoDir,
  requireRegistryTools,
  type PushedImage,
  type PushedIndex,
} from '../helpers/registry.js';
import { runCli, runCliJson } from '../helpers/cli.js';
import { duBlobs } from '../helpers/du.js';
import type { GcPreviewJson as GcJson } from '../helpers/json.js';
import { workspace, type Workspace } from './support.js';

const tools = requireRegistryTools();

interface Finding {
  kind: string;
  repository: string | null;
  tag?: string;
  digest?: string;
}
interface UsageJson {
  totals: { bytes: number; exclusiveBytes: number; sharedBytes: number; unreferencedBytes: number };
  repositories: Array<{ repository: string; exclusive: number }>;
}

const blobDataDir = (root: string, d: string): string =>
  path.join(root, 'docker/registry/v2/blobs/sha256', d.slice(7, 9), d.slice(7));

/** Every blob digest on disk, from the file system. */
function blobsOnDisk(root: string): string[] {
  const base = path.join(root, 'docker/registry/v2/blobs/sha256');
  const out: string[] = [];
  for (const fan of readdirSync(base)) for (const hex of readdirSync(path.join(base, fan))) out.push(`sha256:${hex}`);
  return out.sort();
}

describe(
  'real registry: gc-preview and catalog equal what docker-registry 2.8 does',
  { skip: tools.skip || undefined, timeout: 180_000 },
  () => {
    let ws: Workspace;
    let registryCatalog: string[] = [];
    let appOld: PushedImage;
    let broken: PushedImage;
    let norev: PushedImage;
    let multi: PushedIndex;

    const cliJson = <T>(args: string[]): T => {
      const r = runCliJson<T>([...args, '--db', ws.db, '--format', 'json', '--quiet']);
      assert.equal(r.code, 0, r.stderr);
      return r.json;
    };
    const scan = (): void => {
      const r = runCli(['scan', ws.root, '--db', ws.db, '--quiet']);
      assert.equal(r.code, 0, r.stderr);
    };
    const scenario = (gc: GcJson, id: string) => gc.scenarios.find((s) => s.id === id)!;
    const usageEquality = (): void => {
      const u = cliJson<UsageJson>(['usage']);
      const exclusive = u.repositories.reduce((n, r) => n + r.exclusive, 0);
      const du = duBlobs(path.join(ws.root, 'docker/registry/v2/blobs'));
      assert.equal(exclusive + u.totals.sharedBytes + u.totals.unreferencedBytes, du, JSON.stringify(u.totals));
      assert.equal(u.totals.bytes, du);
    };

    before(async () => {
      ws = workspace();
      const r = await ws.restart();
      appOld = await pushImage(r, 'app', 'v1', { layers: ['shared base', 'app 1'] });
      await pushImage(r, 'app', 'v2', { layers: ['shared base', 'app 1'] }); // retag: same digest
      await pushImage(r, 'app', 'v1', { layers: ['shared base', 'app 2'] }); // v1 moves; appOld keeps v2
      await pushImage(r, 'app/2024', 'v1', { layers: ['app 2024'] }, { format: 'oci' });
      await pushImage(r, 'app/b', 'v1', { layers: ['app b'] });
      await pushImage(r, 'other', 'v1', { layers: ['shared base', 'other'] });
      await pushImage(r, 'lib', 'v1', { layers: ['lib 1'] });
      await deleteTag(r, 'lib', 'v1');
      await pushBlobOnly(r, 'pending', 'a layer whose manifest never came');
      multi = await pushIndex(r, 'platform/multi', 'latest', [
        { layers: ['multi amd64'] },
        { layers: ['multi arm64'] },
      ]);
      broken = await pushImage(r, 'broken', 'v1', { layers: ['broken lost'] });
      norev = await pushImage(r, 'norev', 'v1', { layers: ['norev'] });
      registryCatalog = await catalog(r);
      await ws.stop();
      // What a restore and an unlucky copy leave: a layer blob and a revision link missing.
      rmSync(blobDataDir(ws.root, broken.layerDigests[0]!), { recursive: true });
      rmSync(path.join(repoDir(ws.root, 'norev'), '_manifests/revisions/sha256', norev.digest.slice(7), 'link'));
      scan();
    });

    after(() => ws?.dispose());

    it('catalog --registry-version 2 equals the registry /v2/_catalog, order included', () => {
      assert.ok(
        registryCatalog.indexOf('app/2024') < registryCatalog.indexOf('app'),
        `digit-leading child first: ${registryCatalog}`,
      );
      const ours = cliJson<{ repositories: string[] }>(['catalog', '--registry-version', '2']);
      assert.deepEqual(ours.repositories, registryCatalog);
      const v3 = cliJson<{ repositories: string[] }>(['catalog', '--registry-version', '3']);
      assert.ok(
        !v3.repositories.includes('pending') && registryCatalog.includes('pending'),
        '3.x lists by _manifests: a blob-only repository is not listed',
      );
    });

    it('findings name what the registry cannot serve or only keeps as garbage', () => {
      const fs = cliJson<{ findings: Finding[] }>(['report']).findings;
      const has = (kind: string, repo: string | null, digest?: string): boolean =>
        fs.some((f) => f.kind === kind && f.repository === repo && (digest === undefined || f.digest === digest));
      assert.ok(has('missing-blob', 'broken', broken.layerDigests[0]), 'restore lost a layer: missing-blob');
      assert.ok(has('dangling-tag', 'norev'), 'revision link lost: dangling tag');
      assert.ok(has('untagged-manifest', 'app', undefined) === false, 'appOld is still tagged v2');
      assert.ok(
        !fs.some((f) => f.kind === 'untagged-manifest' && f.repository === 'platform/multi'),
        'children of a tagged index are not untagged',
      );
      assert.ok(
        has('empty-repository', 'lib') &&
          has('unreferenced-layer-link', 'lib') &&
          has('unreferenced-layer-link', 'pending'),
      );
      assert.ok(
        fs.some((f) => f.kind === 'unreferenced-blob' && f.repository === null),
        'lib and pending blobs are garbage',
      );
      assert.ok(
        !fs.some((f) => ['missing-layer-link', 'unreadable-manifest'].includes(f.kind)),
        JSON.stringify(fs.filter((f) => f.kind.startsWith('missing-layer') || f.kind.startsWith('unreadable'))),
      );
      void appOld;
    });

    it('gc-preview 2 = garbage-collect --dry-run, and = what a real run deletes; usage adds up before and after', () => {
      usageEquality();
      const predicted = scenario(cliJson<GcJson>(['gc-preview']), '2');
      assert.equal(predicted.outcome, 'runs');
      const dry = garbageCollect(ws.root, { dryRun: true });
      assert.equal(dry.code, 0, dry.stderr + dry.stdout);
      const ours = predicted.blobs.items.map((b) => b.digest).sort();
      assert.ok(ours.length >= 3, `lib's and pending's blobs: ${ours}`);
      assert.deepEqual(ours, eligible(dry.stdout, 'blob'));

      const before = blobsOnDisk(ws.root);
      const run = garbageCollect(ws.root);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const gone = before.filter((d) => !blobsOnDisk(ws.root).includes(d));
      assert.deepEqual(gone, ours, 'the blobs the real run deleted');
      scan();
      usageEquality();
      assert.equal(scenario(cliJson<GcJson>(['gc-preview']), '2').blobs.count, 0, 'nothing left for a second run');
    });

    it('gc-preview 2-m = --dry-run --delete-untagged (blobs and manifests); the tag it says breaks no longer pulls', async () => {
      const gc = cliJson<GcJson>(['gc-preview']);
      const m = scenario(gc, '2-m');
      const dry = garbageCollect(ws.root, { dryRun: true, deleteUntagged: true });
      assert.equal(dry.code, 0, dry.stderr + dry.stdout);
      assert.deepEqual(m.blobs.items.map((b) => b.digest).sort(), eligible(dry.stdout, 'blob'));
      assert.deepEqual([...new Set(m.manifests.items.map((x) => x.digest))].sort(), eligible(dry.stdout, 'manifest'));
      const children = multi.children.map((c) => c.digest).sort();
      assert.deepEqual(
        m.brokenTags.map((b) => [`${b.repository}:${b.tag}`, b.deletedManifests]),
        [['platform/multi:latest', children]],
      );
      assert.deepEqual(scenario(gc, '3-m').brokenTags, [], '3.x marks index children recursively');

      const before = blobsOnDisk(ws.root);
      const run = garbageCollect(ws.root, { deleteUntagged: true });
      assert.equal(run.code, 0, run.stderr + run.stdout);
      assert.deepEqual(
        before.filter((d) => !blobsOnDisk(ws.root).includes(d)),
        m.blobs.items.map((b) => b.digest).sort(),
      );
      const reg = await ws.restart();
      assert.equal(await pulls(reg, 'platform/multi', 'latest'), false);
      assert.equal(await pulls(reg, 'app', 'v1'), true);
      await ws.stop();

      scan();
      usageEquality();
      const fs = cliJson<{ findings: Finding[] }>(['report']).findings;
      for (const c of children)
        assert.ok(
          fs.some((f) => f.kind === 'missing-blob' && f.repository === 'platform/multi' && f.digest === c),
          `child ${c} reported`,
        );
    });
  },
);
