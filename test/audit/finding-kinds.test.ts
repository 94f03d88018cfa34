/**
 * Every finding kind, on storage trees built by hand: each test has the defect and, beside it, the
 * near miss the rule must not flag, so a rule that is too loose or too strict fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { runReport } from '../../src/app/report.js';
import { debrisFindings } from '../../src/audit/rules.js';
import { FINDING_KINDS, type Finding, type FindingKind } from '../../src/audit/findings.js';
import { MANIFEST_MAX_BYTES } from '../../src/layout/manifest.js';
import { StorageTree, sha256 } from '../helpers/tree.js';

const HOUR = 3600_000;
const hex = (d: string): string => d.slice(d.indexOf(':') + 1);
const blobDir = (d: string): string => `blobs/sha256/${hex(d).slice(0, 2)}/${hex(d)}`;

async function findings(
  tree: StorageTree,
  opts: { uploadAgeMs?: number; kinds?: FindingKind[]; thorough?: boolean } = {},
): Promise<Finding[]> {
  const out = await runReport({
    dbFile: path.join(tree.root, 'idx.db'),
    root: tree.root,
    format: 'json',
    now: Date.now(),
    uploadAgeMs: opts.uploadAgeMs ?? 168 * HOUR,
    jobs: 0,
    thorough: Boolean(opts.thorough),
    ...(opts.kinds ? { kinds: opts.kinds } : {}),
  });
  return out.findings;
}

const ofKind = (fs: Finding[], kind: string): Finding[] => fs.filter((f) => f.kind === kind);
const where = (fs: Finding[], kind: string): string[] =>
  ofKind(fs, kind).map((f) => `${f.repository ?? ''} ${f.tag ?? ''} ${f.digest ?? f.path ?? ''}`.trim());

function tree(t: { after(fn: () => void): void }): StorageTree {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  return s;
}

test('untagged-manifest: neither tagged nor a child of a tagged index; referrers say so', async (t) => {
  const s = tree(t);
  const tagged = s.image('app', 'v1', ['app one']);
  const loose = s.image('app', null, ['app two']);
  // Children of a tagged index are kept alive by it; children of an untagged index are not.
  const a = s.image('multi', null, ['multi amd64']);
  const b = s.image('multi', null, ['multi arm64']);
  s.index('multi', 'latest', [a.manifest, b.manifest]);
  const c = s.image('multi', null, ['old amd64']);
  const oldIndex = s.index('multi', null, [c.manifest]);
  const signature = s.manifest('app', null, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: s.blob('{}'), size: 2 },
    layers: [],
    subject: { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: tagged.manifest, size: 100 },
  });
  const fs = await findings(s);
  assert.deepEqual(
    where(fs, 'untagged-manifest').sort(),
    [`app  ${loose.manifest}`, `app  ${signature}`, `multi  ${c.manifest}`, `multi  ${oldIndex}`].sort(),
  );
  const sig = ofKind(fs, 'untagged-manifest').find((f) => f.digest === signature)!;
  assert.match(sig.message, /referrer of sha256:/);
  const plain = ofKind(fs, 'untagged-manifest').find((f) => f.digest === loose.manifest)!;
  assert.equal(plain.severity, 'info');
  assert.ok(plain.bytes! > 100, 'bytes: the manifest blob');
});

test('missing-blob: config/layer gone, schema1 blobSum gone, index child absent; foreign layers are not missing', async (t) => {
  const s = tree(t);
  const img = s.image('app', 'v1', ['layer kept', 'layer lost']);
  s.remove(blobDir(img.layers[1]!));
  s.image('ok', 'v1', ['fine']);
  // A foreign (non-distributable) layer: referenced, never pushed, no blob and no link by design.
  const foreign = sha256('windows base layer');
  const cfg = s.blob('{"os":"windows"}');
  s.layerLink('win', cfg);
  s.manifest('win', 'ltsc', {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: cfg, size: 16 },
    layers: [
      {
        mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
        digest: foreign,
        size: 999,
        urls: ['https://example.invalid/l'],
      },
    ],
  });
  // schema1: references are fsLayers[].blobSum.
  const s1a = s.blob('schema1 layer a');
  const s1b = sha256('schema1 layer b (gone)');
  s.layerLink('legacy', s1a);
  s.manifest('legacy', 'old', {
    schemaVersion: 1,
    name: 'legacy',
    tag: 'old',
    architecture: 'amd64',
    fsLayers: [{ blobSum: s1a }, { blobSum: s1b }],
    history: [],
  });
  // An index whose second child is no revision of this repository (its blob exists elsewhere).
  const child = s.image('multi', null, ['multi child']);
  const elsewhere = s.image('other', 'x', ['other child']);
  s.index('multi', 'latest', [child.manifest, elsewhere.manifest]);

  const fs = await findings(s);
  assert.deepEqual(
    where(fs, 'missing-blob').sort(),
    [`app v1 ${img.layers[1]}`, `legacy old ${s1b}`, `multi latest ${elsewhere.manifest}`].sort(),
  );
  const lost = ofKind(fs, 'missing-blob').find((f) => f.repository === 'app')!;
  assert.equal(lost.severity, 'error');
  assert.equal(lost.bytes, 'layer lost'.length, 'bytes: the size the descriptor declares');
  assert.match(lost.message, /cannot be pulled/);
  const idx = ofKind(fs, 'missing-blob').find((f) => f.repository === 'multi')!;
  assert.match(idx.message, /child \(linux\/arm64\) has no revision link in this repository/);
});

test('missing-layer-link: blob present, _layers link missing (BLOB_UNKNOWN); linked siblings are fine', async (t) => {
  const s = tree(t);
  const img = s.image('app', 'v1', ['l1', 'l2']);
  s.remove(`repositories/app/_layers/sha256/${hex(img.layers[0]!)}`);
  s.image('ok', 'v1', ['l1', 'l2']);
  const fs = await findings(s);
  assert.deepEqual(where(fs, 'missing-layer-link'), [`app v1 ${img.layers[0]}`]);
  assert.equal(ofKind(fs, 'missing-layer-link')[0]!.bytes, 2);
  assert.deepEqual(where(fs, 'missing-blob'), []);
});

test('unreferenced-layer-link: linked here, used by no manifest of this repository (even if another uses it)', async (t) => {
  const s = tree(t);
  const a = s.image('app', 'v1', ['app layer']);
  const other = s.image('other', 'v1', ['other layer']);
  s.layerLink('app', other.layers[0]!);
  const stray = s.blob('pushed, manifest never sent');
  s.layerLink('app', stray);
  const fs = await findings(s);
  assert.deepEqual(where(fs, 'unreferenced-layer-link').sort(), [`app  ${other.layers[0]}`, `app  ${stray}`].sort());
  assert.ok(
    ofKind(fs, 'unreferenced-layer-link').every(
      (f) => f.severity === 'info' && /3\.x garbage-collect removes it/.test(f.message),
    ),
  );
  assert.ok(!where(fs, 'unreferenced-layer-link').some((w) => w.includes(a.layers[0]!) || w.includes(a.config)));
});

test('unreferenced-blob: what GC frees; a subject is no reference, an untagged revision is', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['kept']);
  const untagged = s.image('app', null, ['kept by an untagged revision']);
  const orphan = s.blob('orphan bytes');
  const linkedOnly = s.blob('linked only');
  s.layerLink('app', linkedOnly);
  const subjectOnly = s.blob('{"not":"a revision"}');
  s.manifest('app', 'sig', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: s.blob('{}'), size: 2 },
    layers: [],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subjectOnly, size: 20 },
  });
  const fs = await findings(s);
  assert.deepEqual(
    ofKind(fs, 'unreferenced-blob')
      .map((f) => f.digest)
      .sort(),
    [orphan, linkedOnly, subjectOnly].sort(),
  );
  const byDigest = new Map(ofKind(fs, 'unreferenced-blob').map((f) => [f.digest, f]));
  assert.equal(byDigest.get(orphan)!.bytes, 'orphan bytes'.length);
  assert.equal(byDigest.get(orphan)!.repository, null);
  assert.match(byDigest.get(linkedOnly)!.message, /still linked from the _layers of 1 repository/);
  assert.ok(
    !ofKind(fs, 'unreferenced-blob').some((f) =>
      [untagged.manifest, ...untagged.layers, untagged.config].includes(f.digest!),
    ),
  );
});

test('unreadable-manifest: not JSON, unknown schema, over 4 MiB; a good neighbour is not', async (t) => {
  const s = tree(t);
  const garbage = s.manifest('app', 'bad', 'this is not json');
  const weird = s.manifest('app', null, { schemaVersion: 3, whatever: true });
  const huge = s.manifest('app', 'huge', `{"schemaVersion":2,"pad":"${'x'.repeat(MANIFEST_MAX_BYTES)}"}`);
  s.image('app', 'good', ['fine']);
  const fs = await findings(s);
  const got = new Map(ofKind(fs, 'unreadable-manifest').map((f) => [f.digest, f]));
  assert.deepEqual([...got.keys()].sort(), [garbage, weird, huge].sort());
  assert.match(got.get(garbage)!.message, /not JSON/);
  assert.equal(got.get(garbage)!.tag, 'bad');
  assert.match(got.get(weird)!.message, /neither schema1/);
  assert.match(got.get(huge)!.message, /over the 4 MiB/);
  assert.ok(got.get(huge)!.bytes! > MANIFEST_MAX_BYTES);
  assert.ok(got.values().next().value!.severity === 'error');
});

test('dangling-tag: says whether the revision is absent or its blob is gone', async (t) => {
  const s = tree(t);
  const noRev = s.image('app', 'norev', ['a']);
  s.remove(`repositories/app/_manifests/revisions/sha256/${hex(noRev.manifest)}/link`);
  const noBlob = s.image('app', 'noblob', ['b']);
  s.remove(blobDir(noBlob.manifest));
  s.image('app', 'fine', ['c']);
  const fs = await findings(s);
  const got = new Map(ofKind(fs, 'dangling-tag').map((f) => [f.tag, f.message]));
  assert.deepEqual([...got.keys()].sort(), ['noblob', 'norev']);
  assert.match(got.get('norev')!, /has no revision link/);
  assert.match(got.get('noblob')!, /manifest blob is gone/);
  assert.deepEqual(where(fs, 'missing-manifest-blob'), [`app  ${noBlob.manifest}`]);
});

test('missing-manifest-blob and dangling-layer-link: links to blobs that are gone', async (t) => {
  const s = tree(t);
  const img = s.image('app', null, ['layer']);
  s.remove(blobDir(img.manifest));
  const other = s.image('other', 'v1', ['gone layer', 'kept layer']);
  s.remove(blobDir(other.layers[0]!));
  const fs = await findings(s);
  assert.deepEqual(where(fs, 'missing-manifest-blob'), [`app  ${img.manifest}`]);
  assert.deepEqual(where(fs, 'dangling-layer-link'), [`other  ${other.layers[0]}`]);
  assert.deepEqual(
    where(fs, 'missing-blob'),
    [`other v1 ${other.layers[0]}`],
    'the image that needs it cannot be pulled either',
  );
});

test('invalid-link: empty, garbage, trailing newline, wrong length; link-digest-mismatch: alias is info, real mismatch an error', async (t) => {
  const s = tree(t);
  const img = s.image('app', 'v1', ['l']);
  const d1 = sha256('one');
  const d2 = sha256('two');
  const d3 = sha256('three');
  const d4 = sha256('four');
  s.layerLink('app', d1, '');
  s.layerLink('app', d2, 'hello');
  s.layerLink('app', d3, `${d3}\n`);
  s.layerLink('app', d4, 'sha256:abc');
  const alias = `sha512:${'ab'.repeat(64)}`;
  s.layerLink('app', alias, img.layers[0]);
  const other = s.image('app', null, ['x']);
  s.revisionLink('app', other.manifest, img.manifest);
  const fs = await findings(s);
  assert.deepEqual(
    ofKind(fs, 'invalid-link')
      .map((f) => f.digest)
      .sort(),
    [d1, d2, d3, d4].sort(),
  );
  const mism = new Map(ofKind(fs, 'link-digest-mismatch').map((f) => [f.digest, f]));
  assert.equal(mism.get(alias)!.severity, 'info');
  assert.match(mism.get(alias)!.message, /alias link/);
  assert.equal(mism.get(other.manifest)!.severity, 'error');
  assert.equal(mism.size, 2);
});

test('empty-repository and invalid-repository-name', async (t) => {
  const s = tree(t);
  const gone = s.image('gone', 'v1', ['g']);
  s.apiDelete('gone', gone.manifest, ['v1']);
  s.image('alive', 'v1', ['a']);
  s.image('UPPER', 'v1', ['u']);
  s.image('registry.example.com:5000/ok', 'v1', ['d']);
  const fs = await findings(s);
  assert.deepEqual(where(fs, 'empty-repository'), ['gone']);
  assert.deepEqual(where(fs, 'invalid-repository-name'), ['UPPER']);
});

test('stale-upload: older than --upload-age (default 168h, the purger), or without startedat', async (t) => {
  const s = tree(t);
  s.image('app', 'v1', ['a']);
  const iso = (ms: number): string => new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, 'Z');
  s.upload('app', 'old', iso(200 * HOUR), 'partial');
  s.upload('app', 'young', iso(2 * HOUR), 'partial');
  let fs = await findings(s);
  assert.deepEqual(where(fs, 'stale-upload'), ['app  repositories/app/_uploads/old']);
  assert.equal(ofKind(fs, 'stale-upload')[0]!.bytes, 'partial'.length);
  fs = await findings(s, { uploadAgeMs: HOUR });
  assert.deepEqual(where(fs, 'stale-upload').sort(), [
    'app  repositories/app/_uploads/old',
    'app  repositories/app/_uploads/young',
  ]);
});

test('debris: .tmp files, unknown _ directories, stray files; unreadable-path from an unreadable entry', async (t) => {
  const s = tree(t);
  const img = s.image('app', 'v1', ['a']);
  s.file(
    `repositories/app/_layers/sha256/${hex(img.layers[0]!)}/link.0190a0b1-aaaa-7bbb-8ccc-0123456789ab.tmp`,
    img.layers[0]!,
  );
  s.dir('repositories/app/_referrers');
  s.file('repositories/README', 'not a repository');
  // Symbolic links are never followed: one to a repository elsewhere, one inside a repository.
  symlinkSync(path.join(s.v2, 'repositories/app'), path.join(s.v2, 'repositories/mirror'));
  symlinkSync('/etc', path.join(s.v2, 'repositories/app/_manifests/revisions/sha256/escape'));
  const tmp = `repositories/app/_layers/sha256/${hex(img.layers[0]!)}/link.0190a0b1-aaaa-7bbb-8ccc-0123456789ab.tmp tmp-file info`;
  const others = [
    'repositories/README stray-file info',
    'repositories/app/_manifests/revisions/sha256/escape symlink warning',
    'repositories/app/_referrers unknown-directory info',
    'repositories/mirror symlink warning',
  ];
  const debrisOf = (fs: Finding[]): string[] =>
    ofKind(fs, 'debris')
      .map((f) => `${f.path} ${f.message.split(':')[0]} ${f.severity}`)
      .sort();
  // A temporary file beside a good link is only seen when digest directories are listed (--thorough).
  assert.deepEqual(debrisOf(await findings(s)), others);
  const fs = await findings(s, { thorough: true });
  assert.deepEqual(debrisOf(fs), [...others, tmp].sort());
  assert.ok(!fs.some((f) => f.repository === 'mirror'), 'a symlinked directory is not walked into a repository');
  // Running as root, nothing is unreadable on disk: the rule is checked on its row.
  const [u] = debrisFindings([
    { repository: 'app', path: 'repositories/app/_layers', kind: 'unreadable', detail: 'permission denied' },
  ]);
  assert.deepEqual([u!.kind, u!.severity], ['unreadable-path', 'error']);
});

test('every kind in FINDING_KINDS is exercised above, and report --kind filters to it', async (t) => {
  const s = tree(t);
  const img = s.image('app', 'v1', ['l1']);
  s.image('app', null, ['loose']);
  s.remove(blobDir(img.layers[0]!));
  const only = await findings(s, { kinds: ['untagged-manifest'] });
  assert.ok(only.length > 0 && only.every((f) => f.kind === 'untagged-manifest'));
  const self = (await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8');
  for (const kind of FINDING_KINDS) assert.ok(self.includes(`'${kind}'`), `no test names ${kind}`);
});
