/**
 * `verify` and `diff` against storage written by the REAL registry (docker-registry 2.8): images pushed
 * with skopeo (nested names, a multi-arch index, shared layers), a `cp -a` backup, and a damaged copy
 * (one flipped byte, one truncated blob, one deleted blob, one tag directory removed, one repository added).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, truncateSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  pullsWithSkopeo,
  pushImage,
  pushIndex,
  repoDir,
  requireRegistryTools,
  startRegistry,
  type PushedImage,
} from '../helpers/registry.js';
import { runCli, runCliJson } from '../helpers/cli.js';
import type { DiffJson, VerifyJson } from '../helpers/json.js';
import { diffJson, verifyJson } from '../helpers/verify.js';
import { workspace, type Workspace } from './support.js';

const tools = requireRegistryTools();

const blobData = (root: string, d: string): string =>
  path.join(root, 'docker/registry/v2/blobs/sha256', d.slice(7, 9), d.slice(7), 'data');

describe('verify and diff on storage written by registry 2.8', { skip: tools.skip || undefined }, () => {
  let ws: Workspace;
  let backup: string;
  let damaged: string;
  let appV1: PushedImage;
  let api: PushedImage;
  let other: PushedImage;
  let flipped: string;
  let truncated: string;
  let deleted: string;

  before(async () => {
    ws = workspace();
    const reg = await ws.restart();
    appV1 = await pushImage(reg, 'app', 'v1', { layers: ['base layer', 'app one'] });
    await pushImage(reg, 'app', 'v2', { layers: ['base layer', 'app two'] });
    api = await pushImage(reg, 'org/team/api', '1.0', { layers: ['base layer', 'api layer '.repeat(50)] });
    other = await pushImage(reg, 'other', 'latest', { layers: ['base layer', 'other layer'] });
    await pushIndex(reg, 'platform/multi', 'latest', [
      { layers: ['base layer', 'multi amd'] },
      { layers: ['multi arm'] },
    ]);
    await ws.stop();
    const work = path.dirname(ws.root);
    backup = path.join(work, 'backup');
    damaged = path.join(work, 'damaged');
    execFileSync('cp', ['-a', ws.root, backup]);
    execFileSync('cp', ['-a', ws.root, damaged]);
    // Damage: flip one byte of app:v1's own layer, truncate org/team/api's layer, delete other's layer,
    // remove app's tag v2, add a repository (a copy of org/team/api under another name).
    flipped = appV1.layerDigests[1]!;
    truncated = api.layerDigests[1]!;
    deleted = other.layerDigests[1]!;
    const f = blobData(damaged, flipped);
    const st = readFileSync(f);
    st[st.length >> 1]! ^= 0x01;
    writeFileSync(f, st);
    truncateSync(blobData(damaged, truncated), 20);
    rmSync(path.dirname(blobData(damaged, deleted)), { recursive: true });
    rmSync(path.join(repoDir(damaged, 'app'), '_manifests/tags/v2'), { recursive: true });
    execFileSync('cp', ['-a', repoDir(damaged, 'org/team/api'), repoDir(damaged, 'copied')]);
  });
  after(async () => ws?.dispose());

  const db = (name: string): string => path.join(path.dirname(ws.root), `${name}.db`);

  it('verify finds exactly the flipped and the truncated blob in the damaged copy, naming the tags', () => {
    const r = verifyJson<VerifyJson>(damaged, db('damaged'), '--fail-on', 'error');
    assert.equal(r.code, 1, r.stderr);
    const got = r.json.findings.map((f) => [f.kind, f.digest]).sort();
    assert.deepEqual(got, [
      ['blob-size-mismatch', truncated],
      ['corrupt-blob', flipped],
    ]);
    const corrupt = r.json.findings.find((f) => f.kind === 'corrupt-blob')!;
    assert.match(corrupt.message, /\bapp:v1\b/);
    assert.doesNotMatch(corrupt.message, /app:v2/);
    assert.match(r.json.findings.find((f) => f.kind === 'blob-size-mismatch')!.message, /org\/team\/api:1\.0/);
  });

  it('a registry serving the damaged copy fails to pull the tag verify named, and still serves the others', async () => {
    const reg = await startRegistry(damaged);
    try {
      assert.equal(pullsWithSkopeo(reg, 'app', 'v1'), false, 'the flipped layer must fail the pull');
      assert.equal(pullsWithSkopeo(reg, 'platform/multi', 'latest'), true);
    } finally {
      await reg.stop();
    }
  });

  it('verify on the backup finds nothing; a rerun hashes nothing; --all everything; a touched blob alone', () => {
    const first = verifyJson<VerifyJson>(backup, db('backup'), '--fail-on', 'error');
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.json.findings, []);
    assert.ok(first.json.totals.blobs >= 12);
    assert.equal(first.json.totals.hashed, first.json.totals.blobs);
    assert.equal(first.json.totals.ok, first.json.totals.blobs);
    const again = verifyJson<VerifyJson>(backup, db('backup'));
    assert.equal(again.json.totals.hashed, 0);
    assert.equal(again.json.totals.unchanged, first.json.totals.blobs);
    const all = verifyJson<VerifyJson>(backup, db('backup'), '--all');
    assert.equal(all.json.totals.hashed, first.json.totals.blobs);
    const later = new Date(Date.now() + 5000);
    utimesSync(blobData(backup, appV1.configDigest), later, later);
    const touched = verifyJson<VerifyJson>(backup, db('backup'));
    assert.equal(touched.json.totals.hashed, 1);
    assert.deepEqual(touched.json.findings, []);
  });

  it('--repository and --sample narrow the scope, and the output says it sampled', () => {
    const scoped = verifyJson<VerifyJson>(damaged, db('scoped'), '--repository', 'org/**');
    assert.deepEqual(scoped.json.scope.filter, { repositories: ['org/**'], exclude: [] });
    assert.deepEqual(
      scoped.json.findings.map((f) => f.kind),
      ['blob-size-mismatch'],
    );
    // org/team/api: manifest, config, base layer, api layer
    assert.equal(scoped.json.totals.blobs, 4);
    const sampled = verifyJson<VerifyJson>(damaged, db('sampled'), '--sample', '50', '--seed', '7');
    const s = sampled.json.scope.sample!;
    assert.equal(s.percent, 50);
    assert.ok(s.blobs > 0 && s.blobs < s.of, `${s.blobs} of ${s.of}`);
    const again = verifyJson<VerifyJson>(damaged, db('sampled2'), '--sample', '50', '--seed', '7');
    assert.equal(again.json.scope.sample!.blobs, s.blobs, 'same seed, same subset');
    const table = runCli(['verify', damaged, '--db', db('sampled'), '--sample', '50', '--seed', '7']);
    assert.match(table.stdout, /SAMPLED 50% \(seed 7\)/);
  });

  it('diff backup damaged reports the removed blob, the removed tag, the added repository and what follows, nothing else', () => {
    const r = diffJson<DiffJson>(backup, damaged, db('diff'), '--fail-on', 'missing');
    assert.equal(r.code, 1, r.stderr);
    const got = r.json.changes.map((c) => `${c.kind} ${c.repository ?? ''} ${c.tag ?? ''} ${c.digest ?? ''}`);
    const copiedLayers = [api.configDigest, ...api.layerDigests].sort();
    const expected = [
      `blob-removed   ${deleted}`,
      // the truncated blob is still there, at another size
      `blob-size-changed   ${truncated}`,
      ...copiedLayers.map((d) => `layer-link-added copied  ${d}`),
      `repository-added copied  `,
      `revision-added copied  ${api.digest}`,
      `tag-added copied 1.0 ${api.digest}`,
      `tag-removed app v2 ${r.json.changes.find((c) => c.kind === 'tag-removed')?.digest ?? '?'}`,
    ];
    assert.deepEqual(got, expected);
    const sizeChange = r.json.changes.find((c) => c.kind === 'blob-size-changed')!;
    assert.deepEqual([sizeChange.to], [20]);
    assert.equal(r.json.summary.holdsEverything, false);
    assert.deepEqual(r.json.summary.unpullableTags, ['app:v2', 'org/team/api:1.0', 'other:latest']);
    // sorted by kind, repository, tag, digest
    const keys = r.json.changes.map((c) => [c.kind, c.repository ?? '', c.tag ?? '', c.digest ?? ''].join('\u0000'));
    assert.deepEqual(keys, [...keys].sort());
  });

  it('diff original backup: no change, exit 0 with --fail-on any; table says so in one line', () => {
    const r = diffJson<DiffJson>(ws.root, backup, db('same'), '--fail-on', 'any');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.changes, []);
    assert.equal(r.json.summary.identical, true);
    assert.ok(
      r.json.a.root.endsWith('storage/docker/registry/v2') && r.json.b.root.endsWith('backup/docker/registry/v2'),
    );
    const t = runCli(['diff', ws.root, backup, '--db', db('same')]);
    assert.equal(t.code, 0);
    assert.match(t.stdout, /^B holds everything A holds, and nothing else\.$/m);
  });

  it('diff of two verified indexes also reports the blob corrupt in B', () => {
    // both indexes were verified by the tests above
    const r = runCliJson<DiffJson>(['diff', db('backup'), db('damaged'), '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const corrupt = r.json.changes.filter((c) => c.kind === 'blob-corrupt-in-b').map((c) => c.digest);
    assert.deepEqual(corrupt, [flipped]);
    assert.ok(r.json.summary.unpullableTags.includes('app:v1'));
  });
});
