/**
 * Real registry, `garbage-collect --delete-untagged` (2.8): a moved tag's old revision is collected and the
 * repo stays active and pullable; a multi-arch OCI index loses its untagged children (2.x marks one level
 * only, distribution issues #3004/#3178), so its tag no longer pulls although `current → revision → blob`
 * still holds. Prune must keep both repositories.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { garbageCollect, pulls, pushImage, pushIndex, requireRegistryTools } from '../helpers/registry.js';
import type { PushedIndex } from '../helpers/registry.js';
import { assertOnlyPruned, deletes, findingsFor, prune, report, repoOf, snapshotTree, workspace } from './support.js';
import type { Workspace } from './support.js';

const tools = requireRegistryTools();

describe('real registry: garbage-collect --delete-untagged', { skip: tools.skip || undefined, timeout: 60_000 }, () => {
  let ws: Workspace;
  let index: PushedIndex;

  before(async () => {
    ws = workspace();
    let reg = await ws.restart();
    index = await pushIndex(reg, 'platform/multi', 'latest', [
      { layers: ['multi amd64'] },
      { layers: ['multi arm64'] },
    ]);
    await pushImage(reg, 'app', 'v1', { layers: ['app 1'] });
    await pushImage(reg, 'app', 'v1', { layers: ['app 2'] });
    await ws.stop();
    const gc = garbageCollect(ws.root, { deleteUntagged: true });
    assert.equal(gc.code, 0, gc.stderr + gc.stdout);
    reg = await ws.restart();
    assert.equal(await pulls(reg, 'platform/multi', 'latest'), false, '2.8 -m breaks the index (children collected)');
    assert.equal(await pulls(reg, 'app', 'v1'), true);
    await ws.stop();
  });

  after(() => ws?.dispose());

  it('moved tag after -m: active, one revision, kept by prune', () => {
    const rep = report(ws.root, ws.db);
    const app = repoOf(rep, 'app');
    assert.equal(app.state, 'active');
    assert.deepEqual([app.tags, app.revisions], [1, 1]);
    const before = snapshotTree(ws.root);
    const res = prune(ws.root, ws.db, ['--apply', '--min-age', '0s']);
    assert.deepEqual(deletes(res), []);
    assertOnlyPruned(before, snapshotTree(ws.root), []);
  });

  it('index whose children -m collected is reported as not pullable (missing-blob per child)', () => {
    const rep = report(ws.root, ws.db);
    const multi = repoOf(rep, 'platform/multi');
    const beyondLinks = findingsFor(rep, 'platform/multi').filter((f) => f.kind !== 'dangling-layer-link');
    assert.ok(
      multi.state !== 'active' || beyondLinks.length > 0,
      `index ${index.digest} lost children ${index.children.map((c) => c.digest).join(', ')}: ${JSON.stringify(multi)}`,
    );
    assert.deepEqual(
      beyondLinks.filter((f) => f.kind === 'missing-blob').length,
      index.children.length,
      JSON.stringify(beyondLinks),
    );
  });
});
