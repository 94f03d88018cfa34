/**
 * End to end against storage written by the REAL registry (docker-registry 2.8 over loopback):
 * push → delete via API → garbage-collect → report → prune (dry run, apply) → start the registry again and
 * check `_catalog` and pulls. One registry root for the whole file; the registry is stopped while regaudit
 * and GC run (stop-the-world), and restarted (fresh process, no cache) to look at the result.
 *
 * Repositories:
 *   myimage            seed case: every image deleted via the API, then GC → only `_layers` links left
 *   org/team           emptied parent of the live nested repo org/team/app (v1, v2)
 *   library/alpine     two tags, one deleted
 *   tools/builder      tag `latest` moved to new content (old revision stays, untagged)
 *   tools/old          tag moved, then the new digest deleted → only an untagged revision left
 *   a.b/c_d/e__f/g-h   deep name with `.`, `_`, `__`, `-`
 *   platform/multi     OCI index with two platform children
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { catalog, deleteTag, pulls, pushImage, repoDir, requireRegistryTools, tagsList } from '../helpers/registry.js';
import type { PushedImage } from '../helpers/registry.js';
import {
  assertOnlyPruned,
  cliText,
  deletes,
  diffTrees,
  findingsFor,
  planOf,
  prune,
  report,
  repoOf,
  snapshotTree,
  workspace,
} from './support.js';
import type { Workspace } from './support.js';
import { SEED_EMPTY, SEED_LIVE, collect, pushSeedScenario, pushThenCollect } from '../helpers/scenario.js';

const tools = requireRegistryTools();

const EMPTY = SEED_EMPTY;
const LIVE = SEED_LIVE;

describe(
  'real registry: delete, GC, report, prune, restart',
  { skip: tools.skip || undefined, timeout: 120_000 },
  () => {
    let ws: Workspace;
    let root = '';
    let db = '';
    let oldUntagged: PushedImage;
    let builderOld: PushedImage;
    let catalogBefore: string[] = [];
    const restart = () => ws.restart();
    const stop = () => ws.stop();

    before(async () => {
      ws = workspace();
      ({ root, db } = ws);
      await pushThenCollect(restart, async (r) => {
        ({ builderOld } = await pushSeedScenario(r));
        oldUntagged = await pushImage(r, 'tools/old', 'v1', { layers: ['old 1'] });
        await pushImage(r, 'tools/old', 'v1', { layers: ['old 2'] });
        await deleteTag(r, 'tools/old', 'v1'); // deletes the new digest and untags v1; the first one stays untagged
      });

      // the seed problem, as the registry itself shows it
      const r2 = await restart();
      catalogBefore = await catalog(r2);
      for (const e of EMPTY) {
        assert.ok(catalogBefore.includes(e), `${e} should still be listed after delete + GC: ${catalogBefore}`);
        assert.deepEqual(await tagsList(r2, e), []);
      }
      for (const [repo, tags] of Object.entries(LIVE))
        for (const t of tags) assert.ok(await pulls(r2, repo, t), `${repo}:${t}`);
      assert.ok(await pulls(r2, 'tools/old', oldUntagged.digest));
      await stop();
    });

    after(() => ws?.dispose());

    it('report: states, counts, and v2/v3 catalog visibility match what the registry wrote', () => {
      const rep = report(root, db);
      const names = rep.repositories.map((r) => r.name).sort();
      for (const n of [...EMPTY, ...Object.keys(LIVE), 'tools/old'])
        assert.ok(names.includes(n), `missing ${n} in ${names}`);
      assert.ok(!names.includes('org'), 'a pure namespace dir is not a repository');

      const myimage = repoOf(rep, 'myimage');
      assert.equal(myimage.state, 'empty');
      assert.equal(myimage.tags, 0);
      assert.equal(myimage.revisions, 0, 'API delete leaves empty revision dirs, not revisions');
      assert.equal(
        myimage.layerLinks,
        5,
        'base + 2 app layers + 2 configs stay linked (seed issue: "_layers ... same 5x layers")',
      );
      assert.equal(repoOf(rep, 'org/team').state, 'empty');
      assert.equal(repoOf(rep, 'org/team').layerLinks, 3);

      const app = repoOf(rep, 'org/team/app');
      assert.equal(app.state, 'active');
      assert.equal(app.tags, 2);
      assert.equal(app.revisions, 2);
      const alpine = repoOf(rep, 'library/alpine');
      assert.equal(alpine.state, 'active');
      assert.deepEqual([alpine.tags, alpine.revisions], [1, 1]);
      const builder = repoOf(rep, 'tools/builder');
      assert.equal(builder.state, 'active');
      assert.deepEqual([builder.tags, builder.revisions], [1, 2], 'moved tag: old revision stays untagged');
      assert.equal(repoOf(rep, 'a.b/c_d/e__f/g-h').state, 'active');
      const multi = repoOf(rep, 'platform/multi');
      assert.equal(multi.state, 'active');
      assert.deepEqual([multi.tags, multi.revisions], [1, 3]);
      const old = repoOf(rep, 'tools/old');
      assert.equal(old.state, 'untagged');
      assert.deepEqual([old.tags, old.revisions], [0, 1]);

      // listedByV2 must agree with the real 2.8 `_catalog`; listedByV3 with the `_manifests` marker
      for (const r of rep.repositories) {
        assert.equal(r.listedByV2, catalogBefore.includes(r.name), `listedByV2 of ${r.name}`);
        assert.equal(
          r.listedByV3,
          existsSync(path.join(repoDir(root, r.name), '_manifests')),
          `listedByV3 of ${r.name}`,
        );
        assert.equal(r.uploads, 0, `${r.name} has no upload in flight`);
      }

      for (const e of EMPTY) {
        const f = findingsFor(rep, e).filter((x) => x.kind === 'empty-repository');
        assert.equal(f.length, 1, `one empty-repository finding for ${e}: ${JSON.stringify(findingsFor(rep, e))}`);
        assert.ok(f[0]!.message.length > 0);
      }
      for (const n of [...Object.keys(LIVE), 'tools/old']) {
        assert.deepEqual(
          findingsFor(rep, n).filter((x) => x.kind === 'empty-repository'),
          [],
          `${n} is not empty`,
        );
      }

      // the root may also be given as docker/ or docker/registry/v2
      for (const sub of ['docker', 'docker/registry/v2']) {
        const again = report(path.join(root, sub), db);
        assert.deepEqual(
          again.repositories.map((r) => [r.name, r.state]).sort(),
          rep.repositories.map((r) => [r.name, r.state]).sort(),
          `report of ${sub}`,
        );
      }
    });

    it('prune dry run changes nothing (not even a directory mtime), in every format', () => {
      const before = snapshotTree(root);

      const fresh = prune(root, db); // default --min-age 1h: everything was written seconds ago
      assert.equal(fresh.applied, false);
      assert.deepEqual(deletes(fresh), []);
      for (const e of EMPTY)
        assert.equal(planOf(fresh, e)?.reason, 'recent-activity', JSON.stringify(planOf(fresh, e)));

      const plan = prune(root, db, ['--min-age', '0s']);
      assert.equal(plan.applied, false);
      assert.deepEqual(deletes(plan), [...EMPTY].sort());
      for (const n of [...Object.keys(LIVE), 'tools/old']) assert.notEqual(planOf(plan, n)?.action, 'delete', n);

      const table = cliText(['prune', root, '--db', db, '--min-age', '0s']);
      assert.match(table, /myimage/);
      assert.match(table, /org\/team/);
      const csv = cliText(['prune', root, '--db', db, '--min-age', '0s', '--format', 'csv']);
      assert.match(csv, /myimage/);
      cliText(['report', root, '--db', db, '--format', 'csv']);
      cliText(['report', root, '--db', db]);

      assert.deepEqual(diffTrees(before, snapshotTree(root)), []);
    });

    it('prune --apply removes exactly the empty repositories, keeps the nested child', () => {
      const before = snapshotTree(root);
      const res = prune(root, db, ['--apply', '--min-age', '0s']);
      assert.equal(res.applied, true);
      assert.deepEqual(deletes(res), [...EMPTY].sort());
      assertOnlyPruned(before, snapshotTree(root), EMPTY);
      assert.ok(!existsSync(repoDir(root, 'myimage')), 'myimage dir removed');
      assert.ok(existsSync(path.join(repoDir(root, 'org/team'), 'app', '_manifests')), 'org/team/app kept');
      for (const m of ['_layers', '_manifests', '_uploads'])
        assert.ok(!existsSync(path.join(repoDir(root, 'org/team'), m)), m);
    });

    it('restarted registry: _catalog lost exactly the pruned repos, every surviving tag still pulls', async () => {
      const r = await restart();
      const cat = await catalog(r);
      assert.deepEqual(
        cat,
        catalogBefore.filter((x) => !EMPTY.includes(x)),
      );
      for (const e of EMPTY) assert.equal(await tagsList(r, e), undefined, `${e} unknown to the registry`);
      for (const [repo, tags] of Object.entries(LIVE)) {
        assert.deepEqual((await tagsList(r, repo))?.sort(), [...tags].sort(), repo);
        for (const t of tags) assert.ok(await pulls(r, repo, t), `${repo}:${t} pulls`);
      }
      assert.ok(await pulls(r, 'tools/builder', builderOld.digest), 'untagged old revision of a moved tag still pulls');
      assert.ok(await pulls(r, 'tools/old', oldUntagged.digest), 'untagged repo kept');
      await stop();
    });

    it('a second --apply plans nothing to delete', () => {
      const before = snapshotTree(root);
      const res = prune(root, db, ['--apply', '--min-age', '0s']);
      assert.equal(res.applied, true);
      assert.deepEqual(deletes(res), []);
      assertOnlyPruned(before, snapshotTree(root), []);
    });

    it('GC after prune succeeds, the pruned name can be pushed again, everything still pulls', async () => {
      collect(root);
      const r = await restart();
      await pushImage(r, 'myimage', 'mytag', { layers: ['myimage base', 'myimage app 2'] });
      assert.ok(await pulls(r, 'myimage', 'mytag'));
      for (const [repo, tags] of Object.entries(LIVE))
        for (const t of tags) assert.ok(await pulls(r, repo, t), `${repo}:${t}`);
      assert.ok((await catalog(r)).includes('myimage'));
      await stop();
    });
  },
);
