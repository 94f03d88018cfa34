/**
 * End to end, real registry: pushes in progress must never be pruned.
 *
 *   gone           pushed, deleted via the API, GC'd → empty (the control case, pruned with --min-age 0s)
 *   incoming       after the GC: a layer uploaded and committed, no manifest yet → `_layers` only, fresh
 *   busy           emptied like `gone`, then an upload started (POST + PATCH, never finished) → `_uploads/<id>`
 *   fresh/upload   only an upload started (no `_layers`, no `_manifests`: not listed by any catalog)
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  blobExists,
  catalog,
  deleteTag,
  finishUpload,
  pulls,
  pushBlobOnly,
  pushImage,
  repoDir,
  requireRegistryTools,
  startUpload,
  tagsList,
  uploadAlive,
} from '../helpers/registry.js';
import type { Upload } from '../helpers/registry.js';
import {
  assertOnlyPruned,
  deletes,
  diffTrees,
  planOf,
  prune,
  report,
  repoOf,
  snapshotTree,
  workspace,
} from './support.js';
import type { Workspace } from './support.js';
import { pushThenCollect } from '../helpers/scenario.js';

const tools = requireRegistryTools();

const BUSY_BYTES = 'a layer that is still being uploaded ... and here is the rest of it';
const BUSY_SENT = 20;

describe(
  'real registry: pushes in progress are never pruned',
  { skip: tools.skip || undefined, timeout: 120_000 },
  () => {
    let ws: Workspace;
    let root = '';
    let db = '';
    let incomingBlob = '';
    let busyUpload: Upload;
    let freshUpload: Upload;
    let catalogBefore: string[] = [];
    const restart = () => ws.restart();
    const stop = () => ws.stop();

    before(async () => {
      ws = workspace();
      ({ root, db } = ws);
      await pushThenCollect(restart, async (r) => {
        await pushImage(r, 'gone', 'v1', { layers: ['gone 1'] });
        await deleteTag(r, 'gone', 'v1');
        await pushImage(r, 'busy', 'v1', { layers: ['busy 1'] });
        await deleteTag(r, 'busy', 'v1');
        await pushImage(r, 'keep', 'v1', { layers: ['keep 1'] });
      });

      const r = await restart();
      incomingBlob = await pushBlobOnly(r, 'incoming', 'incoming layer, manifest not pushed yet');
      busyUpload = await startUpload(r, 'busy', BUSY_BYTES.slice(0, BUSY_SENT));
      freshUpload = await startUpload(r, 'fresh/upload', 'x');
      catalogBefore = await catalog(r);
      assert.deepEqual(catalogBefore, ['busy', 'gone', 'incoming', 'keep'], 'the 2.8 catalog lists dirs with _layers');
      await stop();
      assert.equal(readdirSync(path.join(repoDir(root, 'busy'), '_uploads')).length, 1);
    });

    after(() => ws?.dispose());

    it('report sees the layer-only push and the uploads', () => {
      const rep = report(root, db);
      const incoming = repoOf(rep, 'incoming');
      assert.equal(incoming.state, 'empty', 'no manifest yet: looks exactly like garbage');
      assert.equal(incoming.layerLinks, 1);
      assert.equal(incoming.listedByV2, true);
      assert.equal(incoming.listedByV3, false, 'no _manifests dir');
      const busy = repoOf(rep, 'busy');
      assert.equal(busy.uploads, 1);
      assert.deepEqual([busy.tags, busy.revisions], [0, 0]);
      assert.equal(repoOf(rep, 'gone').state, 'empty');
      assert.equal(repoOf(rep, 'keep').state, 'active');
      const fresh = rep.repositories.find((x) => x.name === 'fresh/upload');
      if (fresh) {
        assert.equal(fresh.uploads, 1);
        assert.equal(fresh.listedByV2, false);
        assert.equal(fresh.listedByV3, false);
      }
    });

    it('default --min-age: the fresh push is skipped for recent-activity, dry run and apply alike', () => {
      const before = snapshotTree(root);
      const dry = prune(root, db);
      assert.equal(dry.applied, false);
      assert.equal(planOf(dry, 'incoming')?.action, 'skip', JSON.stringify(planOf(dry, 'incoming')));
      assert.equal(planOf(dry, 'incoming')?.reason, 'recent-activity');
      assert.deepEqual(deletes(dry), []);
      assert.deepEqual(diffTrees(before, snapshotTree(root)), []);

      const applied = prune(root, db, ['--apply']);
      assert.equal(applied.applied, true);
      assert.equal(planOf(applied, 'incoming')?.reason, 'recent-activity');
      assert.deepEqual(deletes(applied), []);
      assertOnlyPruned(before, snapshotTree(root), []);
    });

    it('the push in progress can still continue after that prune', async () => {
      const r = await restart();
      assert.ok(await blobExists(r, 'incoming', incomingBlob), 'committed layer still linked');
      assert.ok(await uploadAlive(r, busyUpload), 'busy upload still there');
      assert.ok(await uploadAlive(r, freshUpload), 'fresh upload still there');
      assert.deepEqual(await catalog(r), catalogBefore);
      await stop();
    });

    it('--min-age 0s: the emptied repo goes, a repo with an upload in flight stays', () => {
      const before = snapshotTree(root);
      const res = prune(root, db, ['--apply', '--min-age', '0s']);
      assert.equal(res.applied, true);
      const del = deletes(res);
      assert.ok(del.includes('gone'), `gone deleted: ${JSON.stringify(res)}`);
      for (const n of ['busy', 'fresh/upload', 'keep'])
        assert.ok(!del.includes(n), `${n} must not be deleted: ${JSON.stringify(res)}`);
      assert.equal(planOf(res, 'busy')?.reason, 'upload-in-progress', JSON.stringify(planOf(res, 'busy')));
      assertOnlyPruned(before, snapshotTree(root), del);
      assert.equal(readdirSync(path.join(repoDir(root, 'busy'), '_uploads')).length, 1);
      assert.ok(existsSync(path.join(repoDir(root, 'fresh/upload'), '_uploads', freshUpload.uuid, 'startedat')));
    });

    it('restarted registry: catalog lost exactly the pruned repos, the upload completes, keep pulls', async () => {
      const last = prune(root, db, ['--min-age', '0s']);
      const pruned = catalogBefore.filter(
        (x) => !existsSync(repoDir(root, x)) || !existsSync(path.join(repoDir(root, x), '_layers')),
      );
      assert.ok(pruned.includes('gone'));
      const r = await restart();
      assert.deepEqual(
        await catalog(r),
        catalogBefore.filter((x) => !pruned.includes(x)),
      );
      assert.equal(await tagsList(r, 'gone'), undefined);
      assert.ok(await pulls(r, 'keep', 'v1'));
      const d = await finishUpload(r, busyUpload, BUSY_BYTES, BUSY_SENT);
      assert.ok(await blobExists(r, 'busy', d), 'upload finished after prune');
      await stop();
      // nothing left that a second run would delete, besides what the previous run skipped
      assert.deepEqual(deletes(last), []);
    });
  },
);
