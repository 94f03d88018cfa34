import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync, writeFileSync, utimesSync } from 'node:fs';
import { StorageTree } from '../helpers/tree.js';
import { runCli, runCliJson, scanInto } from '../helpers/cli.js';
import type { PruneJson, ReportRepo } from '../helpers/json.js';

const HOUR = 3600_000;

type RepoJson = ReportRepo;

/** The seed's storage: an image pushed, deleted through the API, blobs collected; plus neighbours. */
function seedTree(): StorageTree {
  const t = new StorageTree();
  const gone = t.image('myimage', 'latest', ['layer-1', 'layer-2']);
  t.apiDelete('myimage', gone.manifest, ['latest']);
  t.remove(`blobs/sha256/${gone.layers[0]!.slice(7, 9)}/${gone.layers[0]!.slice(7)}`);
  // org/team emptied, org/team/app alive inside it
  const team = t.image('org/team', 'v1', ['t1']);
  t.apiDelete('org/team', team.manifest, ['v1']);
  t.image('org/team/app', 'v1', ['a1']);
  // one of two tags deleted: still active
  const a = t.image('library/alpine', '3.19', ['alp-1']);
  const b = t.image('library/alpine', '3.20', ['alp-2']);
  t.apiDelete('library/alpine', a.manifest, ['3.19']);
  void b;
  // untagged: revision without tag
  t.image('untagged/app', null, ['u1']);
  // broken: tag current link names a revision that is gone
  const br = t.image('broken/app', 'v1', ['b1']);
  t.remove(`repositories/broken/app/_manifests/revisions/sha256/${br.manifest.slice(7)}/link`);
  t.age(2 * HOUR);
  return t;
}

test('report classifies repositories and explains catalog listing', (t) => {
  const tree = seedTree();
  t.after(() => tree.cleanup());
  const db = path.join(tree.root, 'idx.db');
  const { code, json } = runCliJson<{
    root: string;
    repositories: RepoJson[];
    findings: Array<{ kind: string; repository: string; severity: string }>;
  }>(['report', tree.root, '--db', db, '--format', 'json']);
  assert.equal(code, 0);
  assert.equal(json.root, tree.v2);
  const byName = new Map(json.repositories.map((r) => [r.name, r]));
  assert.deepEqual(
    json.repositories.map((r) => [r.name, r.state]),
    [
      ['broken/app', 'broken'],
      ['library/alpine', 'active'],
      ['myimage', 'empty'],
      ['org/team', 'empty'],
      ['org/team/app', 'active'],
      ['untagged/app', 'untagged'],
    ],
  );
  assert.deepEqual(byName.get('myimage'), {
    ...byName.get('myimage'),
    tags: 0,
    revisions: 0,
    layerLinks: 3,
    uploads: 0,
    listedByV2: true,
    listedByV3: true,
  });
  const empties = json.findings.filter((f) => f.kind === 'empty-repository').map((f) => f.repository);
  assert.deepEqual(empties, ['myimage', 'org/team']);
  assert.ok(json.findings.some((f) => f.kind === 'dangling-tag' && f.repository === 'broken/app'));
  // the layer blob removed above leaves a dangling layer link
  assert.ok(json.findings.some((f) => f.kind === 'dangling-layer-link' && f.repository === 'myimage'));

  // report from the existing index gives the same answer
  const again = runCliJson<{ repositories: RepoJson[] }>(['report', '--db', db, '--format', 'json']);
  assert.deepEqual(again.json.repositories, json.repositories);
});

test('root may be rootdirectory, docker/, docker/registry or docker/registry/v2', (t) => {
  const tree = seedTree();
  t.after(() => tree.cleanup());
  for (const p of [tree.root, path.join(tree.root, 'docker'), path.join(tree.root, 'docker/registry'), tree.v2]) {
    const r = runCliJson<{ root: string; repositories: RepoJson[] }>([
      'report',
      p,
      '--db',
      path.join(tree.root, 'x.db'),
      '--format',
      'json',
    ]);
    assert.equal(r.json.root, tree.v2, p);
    assert.equal(r.json.repositories.length, 6);
  }
});

test('prune: dry run changes nothing; apply deletes only empty repositories and keeps nested ones; idempotent', (t) => {
  const tree = seedTree();
  t.after(() => tree.cleanup());
  const db = path.join(tree.root, 'idx.db');
  const before = tree.listing();
  const dry = runCliJson<PruneJson>(['prune', tree.root, '--db', db, '--format', 'json']);
  assert.equal(dry.code, 0);
  assert.equal(dry.json.applied, false);
  assert.deepEqual(
    dry.json.repositories.map((r) => [r.name, r.action]),
    [
      ['myimage', 'delete'],
      ['org/team', 'delete'],
    ],
  );
  assert.deepEqual(tree.listing(), before, 'dry run must not change anything, not even mtimes');

  const applied = runCliJson<PruneJson>(['prune', tree.root, '--db', db, '--format', 'json', '--apply']);
  assert.equal(applied.code, 0, applied.stderr);
  assert.equal(applied.json.applied, true);
  assert.deepEqual(
    applied.json.repositories.filter((r) => r.deleted).map((r) => r.name),
    ['myimage', 'org/team'],
  );
  assert.ok(!tree.exists('repositories/myimage'), 'myimage directory removed entirely');
  for (const part of ['_layers', '_manifests', '_uploads']) assert.ok(!tree.exists(`repositories/org/team/${part}`));
  assert.ok(tree.exists('repositories/org/team/app/_manifests/tags/v1/current/link'), 'nested repository untouched');
  assert.ok(tree.exists('repositories/untagged/app/_manifests'), 'untagged repository untouched');
  assert.ok(tree.exists('repositories/broken/app/_manifests'), 'broken repository untouched');
  assert.ok(tree.exists('blobs'), 'blobs untouched');

  const second = runCliJson<PruneJson>(['prune', tree.root, '--db', db, '--format', 'json', '--apply']);
  assert.deepEqual(second.json.repositories, []);

  const report = runCliJson<{ repositories: RepoJson[] }>(['report', tree.root, '--db', db, '--format', 'json']);
  assert.deepEqual(
    report.json.repositories.map((r) => r.name),
    ['broken/app', 'library/alpine', 'org/team/app', 'untagged/app'],
  );
});

test('prune skips recent activity and uploads in progress', (t) => {
  const tree = new StorageTree();
  t.after(() => tree.cleanup());
  tree.layerLink('old/empty', tree.blob('x'));
  tree.layerLink('stale/upload', tree.blob('y'));
  tree.upload('stale/upload', 'u-old', '2020-01-01T00:00:00Z', 'abc');
  tree.layerLink('busy/upload', tree.blob('z'));
  tree.upload('busy/upload', 'u-new', new Date(Date.now() - 2 * HOUR).toISOString(), 'abc');
  tree.age(2 * HOUR);
  // a fresh push: layer links, no manifest yet, written just now
  tree.layerLink('incoming', tree.blob('fresh'));
  const db = path.join(tree.root, 'idx.db');
  const dry = runCliJson<PruneJson>(['prune', tree.root, '--db', db, '--format', 'json']);
  const by = Object.fromEntries(
    dry.json.repositories.map((r) => [r.name, `${r.action}${r.reason ? `:${r.reason}` : ''}`]),
  );
  assert.deepEqual(by, {
    'busy/upload': 'skip:upload-in-progress',
    incoming: 'skip:recent-activity',
    'old/empty': 'delete',
    'stale/upload': 'skip:upload-in-progress',
  });
  // stale upload: its data file was aged; startedat is old, but mtime counts as activity; with a short upload age it goes
  const short = runCliJson<PruneJson>(['prune', tree.root, '--db', db, '--format', 'json', '--upload-age', '1h']);
  const by2 = Object.fromEntries(short.json.repositories.map((r) => [r.name, r.action]));
  assert.equal(by2['stale/upload'], 'delete');
  assert.equal(by2['busy/upload'], 'delete');
  const zero = runCliJson<PruneJson>(['prune', tree.root, '--db', db, '--format', 'json', '--min-age', '0s']);
  assert.equal(zero.json.repositories.find((r) => r.name === 'incoming')?.action, 'delete');
});

test('prune leaves a repository that changed after the scan', (t) => {
  const tree = new StorageTree();
  t.after(() => tree.cleanup());
  tree.layerLink('racy', tree.blob('x'));
  tree.age(2 * HOUR);
  const db = path.join(tree.root, 'idx.db');
  // A push lands between scan and delete: simulated by an mtime change the re-read sees.
  // REGAUDIT_CRASH_AT is not involved; we instead touch the tree from a preload hook.
  const hook = path.join(tree.root, 'touch.cjs');
  const link = path.join(tree.v2, 'repositories/racy/_layers');
  writeFileSync(
    hook,
    `const fs=require('fs');const orig=fs.lstatSync;let n=0;fs.lstatSync=function(p,...a){if(String(p).endsWith('/repositories/racy')&&++n===1){fs.mkdirSync(${JSON.stringify(link)}+'/sha256/new',{recursive:true});}return orig.call(this,p,...a);};`,
  );
  const r = runCliJson<PruneJson>(['prune', tree.root, '--db', db, '--format', 'json', '--apply'], {
    env: { NODE_OPTIONS: `--require ${hook}` },
  });
  assert.equal(r.json.repositories[0]?.action, 'skip', JSON.stringify(r.json));
  assert.equal(r.json.repositories[0]?.reason, 'changed-since-scan');
  assert.ok(existsSync(link));
});

test('bad input: one line on stderr, exit 2, nothing deleted', (t) => {
  const tree = seedTree();
  t.after(() => tree.cleanup());
  const before = tree.listing();
  const cases: Array<[string[], RegExp]> = [
    [['report', '/nonexistent/x'], /\/nonexistent\/x: no such file or directory/],
    [['prune', tree.v2 + '/repositories', '--apply'], /not registry storage/],
    [['report', '--db', path.join(tree.root, 'missing.db')], /no index here/],
    [['prune', tree.root, '--min-age', 'soon', '--apply'], /--min-age "soon": not a duration/],
    [['report', tree.root, '--format', 'xml'], /argument 'xml' is invalid/],
  ];
  const notDb = path.join(tree.root, 'garbage.db');
  writeFileSync(notDb, 'this is not sqlite'.repeat(100));
  cases.push([['report', '--db', notDb], /not a regaudit index/]);
  cases.push([['prune', tree.root, '--db', notDb, '--apply', '--min-age', '0s'], /not a regaudit index/]);
  for (const [args, re] of cases) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.deepEqual(
    tree.listing().filter((l) => !l.startsWith('.regaudit')),
    before,
  );
});

test('scan replaces the previous scan of the same root and sees a changed link', (t) => {
  const tree = new StorageTree();
  t.after(() => tree.cleanup());
  const img = tree.image('app', 'v1', ['l1']);
  tree.age(2 * HOUR);
  const db = path.join(tree.root, 'idx.db');
  scanInto(tree.root, db);
  let r = runCliJson<{ repositories: RepoJson[] }>(['report', '--db', db, '--format', 'json']);
  assert.equal(r.json.repositories[0]?.state, 'active');
  // corrupt the tag link in place (same size, same directory mtime)
  const cur = path.join(tree.v2, 'repositories/app/_manifests/tags/v1/current/link');
  writeFileSync(
    cur,
    img.manifest.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
  );
  const old = (Date.now() - HOUR) / 1000;
  utimesSync(cur, old, old);
  scanInto(tree.root, db);
  r = runCliJson<{ repositories: RepoJson[] }>(['report', '--db', db, '--format', 'json']);
  assert.equal(r.json.repositories.length, 1);
  // the revision is still there, so the repository is untagged, not broken
  assert.equal(r.json.repositories[0]?.state, 'untagged');
});

test('prune without a root plans from the newest scan in --db, and --apply still re-reads before deleting', (t) => {
  const tree = seedTree();
  t.after(() => tree.cleanup());
  const db = path.join(tree.root, 'idx.db');
  scanInto(tree.root, db);
  const before = tree.listing();
  const dry = runCliJson<PruneJson & { root: string }>(['prune', '--db', db, '--format', 'json']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.json.root, tree.v2);
  assert.deepEqual(
    dry.json.repositories.map((r) => [r.name, r.action]),
    [
      ['myimage', 'delete'],
      ['org/team', 'delete'],
    ],
  );
  assert.deepEqual(tree.listing(), before);
  // myimage gains a revision after the scan: the stale plan says delete, the re-read says no
  tree.revisionLink('myimage', tree.blob('late manifest'));
  const applied = runCliJson<PruneJson>(['prune', '--db', db, '--format', 'json', '--apply']);
  assert.equal(applied.code, 0, applied.stderr);
  const by = Object.fromEntries(
    applied.json.repositories.map((r) => [r.name, `${r.action}${r.reason ? `:${r.reason}` : ''}:${r.deleted}`]),
  );
  assert.deepEqual(by, { myimage: 'skip:changed-since-scan:false', 'org/team': 'delete:true' });
  assert.ok(tree.exists('repositories/myimage/_manifests'));
  assert.equal(runCli(['prune', '--db', path.join(tree.root, 'none.db')]).code, 2);
});
