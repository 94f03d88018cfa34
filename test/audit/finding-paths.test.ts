/**
 * Finding paths: invalid-link findings name the bad file, and every finding path is relative to
 * docker/registry/v2 (so joining it to the v2 directory finds the file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runCliJson, scanInto } from '../helpers/cli.js';
import { StorageTree } from '../helpers/tree.js';

test('invalid-link findings carry the path of the bad file; all paths share the v2 base', (t) => {
  const tree = new StorageTree();
  t.after(() => tree.cleanup());
  const good = tree.image('ok', 'v1', ['ok layer']).manifest;
  const layer = tree.blob('a layer');
  tree.layerLink('bad/layer', layer, 'not a digest');
  tree.revisionLink('bad/rev', good, '');
  tree.tagLink('bad/tag', 'v2', good, 'sha256:short');
  tree.upload('ok', 'u-old', '2020-01-01T00:00:00Z', 'x');
  const db = path.join(tree.root, 'idx.db');
  scanInto(tree.root, db);
  const r = runCliJson<{ findings: Array<{ kind: string; repository: string | null; path?: string }> }>([
    'report',
    '--db',
    db,
    '--format',
    'json',
  ]);
  const invalid = r.json.findings
    .filter((f) => f.kind === 'invalid-link')
    .map((f) => [f.repository, f.path])
    .sort();
  const hex = (d: string): string => d.split(':')[1]!;
  assert.deepEqual(invalid, [
    ['bad/layer', `repositories/bad/layer/_layers/sha256/${hex(layer)}/link`],
    ['bad/rev', `repositories/bad/rev/_manifests/revisions/sha256/${hex(good)}/link`],
    ['bad/tag', 'repositories/bad/tag/_manifests/tags/v2/current/link'],
  ]);
  const stale = r.json.findings.find((f) => f.kind === 'stale-upload');
  assert.equal(stale?.path, 'repositories/ok/_uploads/u-old');
  const withPath = r.json.findings.filter((f) => f.path !== undefined);
  assert.ok(withPath.length >= 4);
  for (const f of withPath) assert.ok(existsSync(path.join(tree.v2, f.path!)), `${f.kind}: ${f.path} under v2`);
});
