import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTree, SIZE_FILES, type Summary } from '../../scripts/gen-tree.js';

const LINK_RE = /^sha256:[0-9a-f]{64}$/;

interface Walk {
  /** relative path -> sha256 of content ('' for directories) */
  entries: Map<string, string>;
  files: string[];
  dirs: number;
}

function walk(root: string): Walk {
  const entries = new Map<string, string>();
  const files: string[] = [];
  let dirs = 0;
  const rec = (rel: string): void => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        dirs++;
        entries.set(`${r}/`, '');
        rec(r);
      } else {
        files.push(r);
        entries.set(
          r,
          createHash('sha256')
            .update(readFileSync(path.join(root, r)))
            .digest('hex'),
        );
      }
    }
  };
  rec('');
  return { entries, files, dirs };
}

interface RepoInfo {
  layers: Set<string>;
  revisions: Set<string>;
  emptyRevisionDirs: number;
  tags: Map<string, string>;
  tagIndex: number;
  hasManifests: boolean;
  hasLayers: boolean;
  uploads: Set<string>;
}

function readLink(p: string): string {
  const b = readFileSync(p);
  assert.equal(b.length, 71, `${p} is ${b.length} bytes`);
  const s = b.toString('utf8');
  assert.match(s, LINK_RE, p);
  return s.slice(7);
}

/** tmpfs when there is one: the test checks content, not disk speed, and 60k small files are slow on some disks. */
function tmpBase(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

const tmp = mkdtempSync(path.join(tmpBase(), 'gen-tree-test-'));
const dirA = path.join(tmp, 'a');
const dirB = path.join(tmp, 'b');
let summary: Summary;
let walkA: Walk;

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('small tree: size, link format, digests, manifests, summary', () => {
  summary = generateTree(dirA, { size: 'small', seed: 7 });
  const v2 = path.join(dirA, 'docker', 'registry', 'v2');
  walkA = walk(v2);

  // size
  const target = SIZE_FILES.small;
  assert.ok(walkA.files.length >= target * 0.75 && walkA.files.length <= target * 1.25, `${walkA.files.length} files`);

  // blobs: every data file lives under the sha256 of its content
  const blobs = new Map<string, number>();
  let blobBytes = 0;
  for (const f of walkA.files) {
    if (!f.startsWith('blobs/')) continue;
    const m = /^blobs\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})\/data$/.exec(f);
    assert.ok(m, `unexpected blob path ${f}`);
    assert.equal(m[1], m[2]?.slice(0, 2));
    assert.equal(walkA.entries.get(f), m[2], `${f} content does not match its digest`);
    const size = statSync(path.join(v2, f)).size;
    blobs.set(m[2] ?? '', size);
    blobBytes += size;
  }

  // repositories
  const repos = new Map<string, RepoInfo>();
  const repo = (name: string): RepoInfo => {
    let r = repos.get(name);
    if (!r) {
      r = {
        layers: new Set(),
        revisions: new Set(),
        emptyRevisionDirs: 0,
        tags: new Map(),
        tagIndex: 0,
        hasManifests: false,
        hasLayers: false,
        uploads: new Set(),
      };
      repos.set(name, r);
    }
    return r;
  };
  let links = 0;
  for (const e of walkA.entries.keys()) {
    if (!e.startsWith('repositories/')) continue;
    const rel = e.slice('repositories/'.length);
    const i = rel.search(/(^|\/)_(layers|manifests|uploads)(\/|$)/);
    if (i < 0) continue; // namespace / repository directory itself
    const name = rel.slice(0, i);
    const rest = rel.slice(i === 0 ? 0 : i + 1);
    const r = repo(name);
    let m: RegExpExecArray | null;
    if (rest === '_layers/') r.hasLayers = true;
    else if (rest === '_manifests/') r.hasManifests = true;
    else if ((m = /^_layers\/sha256\/([0-9a-f]{64})\/link$/.exec(rest))) {
      assert.equal(readLink(path.join(v2, e)), m[1]);
      r.layers.add(m[1] ?? '');
      links++;
    } else if ((m = /^_manifests\/revisions\/sha256\/([0-9a-f]{64})\/link$/.exec(rest))) {
      const d = readLink(path.join(v2, e));
      assert.equal(d, m[1]);
      assert.ok(blobs.has(d), `revision ${d} of ${name} has no blob`);
      r.revisions.add(d);
      links++;
    } else if ((m = /^_manifests\/tags\/([\w][\w.-]{0,127})\/current\/link$/.exec(rest))) {
      const d = readLink(path.join(v2, e));
      assert.ok(blobs.has(d), `tag ${name}:${m[1]} names a missing blob`);
      r.tags.set(m[1] ?? '', d);
      links++;
    } else if ((m = /^_manifests\/tags\/[\w][\w.-]{0,127}\/index\/sha256\/([0-9a-f]{64})\/link$/.exec(rest))) {
      assert.equal(readLink(path.join(v2, e)), m[1]);
      r.tagIndex++;
      links++;
    } else if ((m = /^_uploads\/([0-9a-f-]{36})\/$/.exec(rest))) {
      r.uploads.add(m[1] ?? '');
    } else if (/^_manifests\/revisions\/sha256\/[0-9a-f]{64}\/$/.test(rest)) {
      if (!walkA.entries.has(`${e}link`)) r.emptyRevisionDirs++;
    } else if (/^_uploads\/[0-9a-f-]{36}\/startedat$/.test(rest)) {
      assert.match(readFileSync(path.join(v2, e), 'utf8'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    } else if (rest.endsWith('/')) {
      // intermediate directories
      assert.match(
        rest,
        /^(_layers\/(sha256\/([0-9a-f]{64}\/)?)?|_manifests\/(revisions\/(sha256\/)?|tags\/([\w][\w.-]*\/(current\/|index\/(sha256\/([0-9a-f]{64}\/)?)?)?)?)|_uploads\/([0-9a-f-]{36}\/hashstates\/(sha256\/)?)?)$/,
        `unexpected directory ${e}`,
      );
    } else {
      assert.match(rest, /^_uploads\/[0-9a-f-]{36}\/(data|hashstates\/sha256\/\d+)$/, `unexpected file ${e}`);
    }
  }
  for (const name of repos.keys()) {
    assert.match(name, /^[a-z0-9]+((?:[._]|__|[-]+)[a-z0-9]+)*(\/[a-z0-9]+((?:[._]|__|[-]+)[a-z0-9]+)*)*$/, name);
  }

  // tags point at revisions of their repository; manifests are valid and their blobs are linked
  const manifestBlobs = new Set<string>();
  let untaggedRevisions = 0;
  let indexRevisions = 0;
  for (const [name, r] of repos) {
    for (const [t, d] of r.tags) assert.ok(r.revisions.has(d), `${name}:${t} -> ${d} is not a revision`);
    const currents = new Set(r.tags.values());
    for (const d of r.revisions) {
      if (!currents.has(d)) untaggedRevisions++;
      manifestBlobs.add(d);
      const m = JSON.parse(readFileSync(path.join(v2, 'blobs', 'sha256', d.slice(0, 2), d, 'data'), 'utf8')) as {
        schemaVersion: number;
        mediaType: string;
        config?: { digest: string; size: number };
        layers?: { digest: string; size: number }[];
        manifests?: { digest: string; size: number; mediaType: string }[];
      };
      assert.equal(m.schemaVersion, 2);
      if (m.manifests) {
        indexRevisions++;
        assert.ok(
          m.mediaType === 'application/vnd.oci.image.index.v1+json' ||
            m.mediaType === 'application/vnd.docker.distribution.manifest.list.v2+json',
        );
        for (const c of m.manifests) {
          const h = c.digest.slice(7);
          assert.ok(r.revisions.has(h), `child ${c.digest} of ${name}@${d} is not a revision of the repo`);
          assert.equal(blobs.get(h), c.size);
        }
        continue;
      }
      assert.ok(
        m.mediaType === 'application/vnd.oci.image.manifest.v1+json' ||
          m.mediaType === 'application/vnd.docker.distribution.manifest.v2+json',
      );
      assert.ok(m.config && m.layers && m.layers.length > 0);
      for (const desc of [m.config, ...m.layers]) {
        assert.match(desc.digest, LINK_RE);
        const h = desc.digest.slice(7);
        assert.equal(blobs.get(h), desc.size, `${desc.digest} in ${name}@${d}: missing blob or wrong size`);
        assert.ok(r.layers.has(h), `${desc.digest} referenced by ${name}@${d} is not in _layers`);
      }
      // configs are JSON too
      JSON.parse(
        readFileSync(
          path.join(v2, 'blobs', 'sha256', m.config.digest.slice(7, 9), m.config.digest.slice(7), 'data'),
          'utf8',
        ),
      );
    }
  }

  // summary.json == summary == fresh walk
  const onDisk = JSON.parse(readFileSync(path.join(dirA, 'summary.json'), 'utf8')) as Summary;
  assert.deepEqual(onDisk, summary);
  const list = [...repos.values()];
  const sum = (f: (r: RepoInfo) => number): number => list.reduce((a, r) => a + f(r), 0);
  const linked = new Set<string>();
  for (const r of list) for (const d of [...r.layers, ...r.revisions]) linked.add(d);
  const walked = {
    repositories: list.filter((r) => r.hasLayers || r.hasManifests).length,
    repositoriesActive: list.filter((r) => r.tags.size > 0).length,
    repositoriesUntagged: list.filter((r) => r.tags.size === 0 && r.revisions.size > 0).length,
    repositoriesEmpty: list.filter((r) => (r.hasLayers || r.hasManifests) && r.revisions.size === 0).length,
    tags: sum((r) => r.tags.size),
    tagIndexEntries: sum((r) => r.tagIndex),
    revisions: sum((r) => r.revisions.size),
    untaggedRevisions,
    emptyRevisionDirs: sum((r) => r.emptyRevisionDirs),
    indexRevisions,
    layerLinks: sum((r) => r.layers.size),
    blobs: blobs.size,
    orphanBlobs: [...blobs.keys()].filter((h) => !linked.has(h)).length,
    uploads: sum((r) => r.uploads.size),
    files: walkA.files.length,
    dirs: walkA.dirs,
    totalBlobBytes: blobBytes,
  };
  for (const [k, v] of Object.entries(walked)) assert.equal(summary[k as keyof Summary], v, `summary.${k}`);
  assert.equal(links, summary.layerLinks + summary.revisions + summary.tags + summary.tagIndexEntries);
  assert.equal(summary.manifestBlobs + summary.configBlobs + summary.layerBlobs, summary.blobs);
  assert.ok(manifestBlobs.size <= summary.manifestBlobs);

  // the shapes the benchmark relies on are present
  assert.ok(summary.repositoriesActive > 0 && summary.repositoriesUntagged > 0 && summary.repositoriesEmpty > 0);
  assert.ok(summary.untaggedRevisions > 0 && summary.emptyRevisionDirs > 0 && summary.indexRevisions > 0);
  assert.ok(summary.uploads > 0 && summary.namespaceDirs > 0 && summary.orphanBlobs > 0);
  assert.ok(summary.tagIndexEntries > summary.tags, 'tags have history');
  assert.ok(
    [...repos.keys()].some((n) => n.split('/').length >= 3),
    'nested repositories',
  );
  assert.ok(
    [...repos.keys()].some((n) => repos.has(n.split('/').slice(0, -1).join('/'))),
    'repo inside a repo',
  );
  let shared = 0;
  const seen = new Map<string, number>();
  for (const r of list) for (const l of r.layers) seen.set(l, (seen.get(l) ?? 0) + 1);
  for (const c of seen.values()) if (c > 1) shared++;
  assert.ok(shared > 0, 'layers shared across repositories');
});

test('same seed gives the identical tree, another seed does not', () => {
  generateTree(dirB, { size: 'small', seed: 7 });
  const walkB = walk(path.join(dirB, 'docker', 'registry', 'v2'));
  assert.equal(walkB.entries.size, walkA.entries.size);
  assert.deepEqual([...walkB.entries].sort(), [...walkA.entries].sort());
  assert.equal(
    readFileSync(path.join(dirB, 'summary.json'), 'utf8'),
    readFileSync(path.join(dirA, 'summary.json'), 'utf8'),
  );
  const other = generateTree(path.join(tmp, 'c'), { size: 2000, seed: 8 });
  assert.ok(other.files >= 2000);
  assert.throws(() => generateTree(dirB, { size: 'small', seed: 7 }), /already exists/);
});
