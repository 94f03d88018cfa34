/**
 * schema1 and the real 2.8 garbage-collect: 2.8 stores a schema1 manifest as its unsigned payload and
 * its GC reads it (re-signing on read) and marks its layers. gc-preview's 2.x scenarios must agree
 * with `garbage-collect --dry-run` digest for digest; 3.x no longer reads schema1 and aborts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { garbageCollect, requireRegistryTools } from '../helpers/registry.js';
import { runCliJson } from '../helpers/cli.js';
import { StorageTree } from '../helpers/tree.js';

const tools = requireRegistryTools();

const eligible = (out: string): string[] =>
  [...out.matchAll(/blob eligible for deletion: (sha256:[0-9a-f]{64})/g)].map((m) => m[1]!).sort();

test('2.8 garbage-collect keeps the layers of an unsigned schema1 manifest; gc-preview agrees', (t) => {
  if (tools.skip) return t.skip(tools.skip);
  const s = new StorageTree();
  t.after(() => s.cleanup());
  const layer = s.blob('schema1 layer');
  s.layerLink('legacy', layer);
  s.manifest('legacy', 'old', {
    schemaVersion: 1,
    name: 'legacy',
    tag: 'old',
    architecture: 'amd64',
    fsLayers: [{ blobSum: layer }],
    history: [{ v1Compatibility: '{"id":"a"}' }],
  });
  const orphan = s.blob('orphan');

  const pred = runCliJson<{ scenarios: any[] }>([
    'gc-preview',
    s.root,
    '--db',
    path.join(s.root, 'i.db'),
    '-q',
    '--format',
    'json',
  ]);
  assert.equal(pred.code, 0, pred.stderr);
  const byId = new Map(pred.json.scenarios.map((x) => [x.id, x]));
  for (const [id, m] of [
    ['2', false],
    ['2-m', true],
  ] as const) {
    const dry = garbageCollect(s.root, { dryRun: true, deleteUntagged: m });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`marking blob ${layer}`), 'the real GC marks the schema1 layer');
    assert.deepEqual(eligible(dry.stdout), [orphan]);
    const p = byId.get(id);
    assert.equal(p.outcome, 'runs', JSON.stringify(p.issues));
    assert.deepEqual(p.blobs.items.map((b: { digest: string }) => b.digest).sort(), eligible(dry.stdout), id);
  }
  for (const id of ['3', '3-m']) {
    assert.equal(byId.get(id).outcome, 'aborts', id);
    assert.match(JSON.stringify(byId.get(id).issues), /schema1/);
  }
});
