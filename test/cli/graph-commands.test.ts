/**
 * The built CLI: usage, gc-preview and catalog in every format, report --kind / --fail-on with the
 * graph findings, and one-line errors (exit 2) for bad options.
 */
import { TOOL_VERSION } from '../../src/version.js';
import { SCHEMA_VERSION } from '../../src/index/migrations/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli, runCliJson, scanInto } from '../helpers/cli.js';
import { StorageTree } from '../helpers/tree.js';

function fixture(t: { after(fn: () => void): void }): { tree: StorageTree; db: string } {
  const tree = new StorageTree();
  t.after(() => tree.cleanup());
  tree.image('app', 'v1', ['app base', 'app 1']);
  tree.image('app', null, ['app old']);
  tree.image('app/2024', 'v1', ['year']);
  tree.image('lib', 'v1', ['lib']);
  tree.layerLink('only-layers', tree.blob('blob only'));
  tree.layerLink('lib', tree.blob('lib stray'));
  const db = path.join(tree.root, 'idx.db');
  scanInto(tree.root, db);
  return { tree, db };
}

test('usage: table, csv, json; --by tag, --sort, --top', (t) => {
  const { db } = fixture(t);
  const table = runCli(['usage', '--db', db]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /blobs\/: \d+ blobs, .* = exclusive .* \+ shared .* \+ unreferenced /);
  assert.match(table.stdout, /│ app\s+│/);
  const csv = runCli(['usage', '--db', db, '--format', 'csv', '--by', 'tag', '--sort', 'tag']);
  assert.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trim().split('\n');
  assert.equal(lines[0], 'repository,tag,digest,manifests,blobs,reachable,exclusive,shared,freed');
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(',').slice(0, 2).join(':')),
    ['app:v1', 'app/2024:v1', 'lib:v1'],
  );
  const top = runCliJson<{ repositories: Array<{ repository: string }>; top: number }>([
    'usage',
    '--db',
    db,
    '--format',
    'json',
    '--sort',
    'repository',
    '--top',
    '2',
  ]);
  assert.deepEqual(
    top.json.repositories.map((r) => r.repository),
    ['app', 'app/2024'],
  );
  const bad = runCli(['usage', '--db', db, '--sort', 'tag']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  assert.match(bad.stderr, /--sort "tag": not a column of usage by repository/);
  assert.equal(runCli(['usage', '--db', db, '--top', '0']).code, 2);
});

test('gc-preview: summary table, --scenario, csv rows', (t) => {
  const { db } = fixture(t);
  const table = runCli(['gc-preview', '--db', db]);
  assert.equal(table.code, 0, table.stderr);
  for (const cmd of ['registry garbage-collect (2.8)', 'registry garbage-collect --delete-untagged (3.x)'])
    assert.ok(table.stdout.includes(cmd), table.stdout);
  const one = runCliJson<{ scenarios: Array<{ id: string; blobs: { count: number } }> }>([
    'gc-preview',
    '--db',
    db,
    '--format',
    'json',
    '--scenario',
    '2-m',
  ]);
  assert.deepEqual(
    one.json.scenarios.map((s) => s.id),
    ['2-m'],
  );
  assert.equal(
    one.json.scenarios[0]!.blobs.count,
    5,
    'two link-only blobs + the untagged image (manifest, config, layer)',
  );
  const csv = runCli(['gc-preview', '--db', db, '--format', 'csv', '--scenario', '3']);
  assert.match(csv.stdout, /^scenario,action,repository,tag,digest,bytes,detail\n/);
  assert.match(csv.stdout, /\n3,delete-blob,,,sha256:/);
  assert.match(csv.stdout, /\n3,remove-layer-link,lib,,sha256:/);
  assert.doesNotMatch(
    csv.stdout,
    /remove-layer-link,only-layers/,
    '3.x does not enumerate a repository without _manifests',
  );
  assert.equal(runCli(['gc-preview', '--db', db, '--scenario', '4']).code, 2);
});

test('catalog: the order of each registry version, in every format', (t) => {
  const { db } = fixture(t);
  assert.equal(runCli(['catalog', '--db', db]).stdout, 'app/2024\napp\nlib\nonly-layers\n');
  assert.equal(runCli(['catalog', '--db', db, '--registry-version', '3']).stdout, 'app/2024\napp\nlib\n');
  assert.deepEqual(runCliJson(['catalog', '--db', db, '--format', 'json']).json, {
    regauditVersion: TOOL_VERSION,
    schemaVersion: SCHEMA_VERSION,
    registryVersion: 2,
    repositories: ['app/2024', 'app', 'lib', 'only-layers'],
  });
  assert.equal(
    runCli(['catalog', '--db', db, '--format', 'csv', '--registry-version', '3']).stdout,
    'repository\napp/2024\napp\nlib\n',
  );
  const bad = runCli(['catalog', '--db', db, '--registry-version', '4']);
  assert.equal(bad.code, 2);
});

test('report --kind takes only known kinds; --fail-on counts the graph findings', (t) => {
  const { tree, db } = fixture(t);
  const bad = runCli(['report', '--db', db, '--kind', 'no-such-kind']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no-such-kind/);
  const info = runCli([
    'report',
    '--db',
    db,
    '--kind',
    'untagged-manifest,unreferenced-blob',
    '--fail-on',
    'warning',
    '--format',
    'json',
  ]);
  assert.equal(info.code, 0, 'info findings do not fail --fail-on warning');
  assert.deepEqual(
    [...new Set((JSON.parse(info.stdout) as { findings: Array<{ kind: string }> }).findings.map((f) => f.kind))].sort(),
    ['unreferenced-blob', 'untagged-manifest'],
  );
  const hex = (d: string): string => d.slice(7);
  const lib = tree.image('lib', 'v2', ['lib two']);
  tree.remove(`blobs/sha256/${hex(lib.layers[0]!).slice(0, 2)}/${hex(lib.layers[0]!)}`);
  const failed = runCli(['report', tree.root, '--db', db, '--kind', 'missing-blob', '--fail-on', 'error', '--quiet']);
  assert.equal(failed.code, 1, failed.stderr);
});
