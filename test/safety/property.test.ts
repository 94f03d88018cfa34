/**
 * Property test against a model: random storage trees (nested names, API-delete leftovers, bad
 * link files, uploads, recent activity, symlinks, crash debris from an interrupted prune, empty,
 * unknown and stray entries) are pruned in-process (the real scan → plan → apply path, index in
 * memory), and the tree left behind must be exactly what a small reference model of the
 * empty-repository rule predicts: nothing more deleted, nothing less.
 * Seeded and reproducible: REGAUDIT_PROPERTY_SEED and REGAUDIT_PROPERTY_TREES override.
 */
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { runPrune } from '../../src/app/prune.js';
import { runRestore } from '../../src/app/quarantine.js';
import { assertSameSnapshot, hex, memTempDir, storagePaths, storageSnapshot, writeStorage } from './support.js';

const SEED = Number(process.env.REGAUDIT_PROPERTY_SEED ?? 20261128);
/** Random trees in all; each property run prunes a forest of PER_RUN independent ones side by side. */
const TREES = Number(process.env.REGAUDIT_PROPERTY_TREES ?? 2000);
const PER_RUN = 5;
const RUNS = Math.ceil(TREES / PER_RUN);
const PARTS = ['_manifests', '_layers', '_uploads'] as const;
const TRASH = '_regaudit_trash';
const HOUR = 3_600_000;

type Content = 'valid' | 'empty' | 'garbage' | 'newline';

interface RepoSpec {
  parts: string[];
  tags: Array<{ name: string; current: Content | null; index: boolean }>;
  revisions: Array<{ link: Content | null; tmp: boolean }>;
  layers: Content[];
  uploads: Array<{ recent: boolean }>;
  recent: boolean;
  symlink: boolean;
  junk: boolean;
}

interface TreeSpec {
  repos: Array<[string, RepoSpec]>;
  trash: Array<[string, string[]]>;
  emptyDirs: string[];
  unknown: string[];
  stray: string[];
}

const rare = (p: number): fc.Arbitrary<boolean> => fc.integer({ min: 0, max: 99 }).map((n) => n < p);
const segment = fc.constantFrom('a', 'b', 'app', '2024', 'x-y', 'z.z');
const name = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
const content: fc.Arbitrary<Content> = fc.constantFrom('valid', 'valid', 'empty', 'garbage', 'newline');

const repoSpec: fc.Arbitrary<RepoSpec> = fc.record({
  parts: fc.subarray([...PARTS], { minLength: 1 }),
  tags: fc.array(
    fc.record({
      name: fc.constantFrom('latest', 'v1', '_x'),
      current: fc.option(content, { freq: 2 }),
      index: fc.boolean(),
    }),
    { maxLength: 2 },
  ),
  revisions: fc.array(fc.record({ link: fc.option(content, { freq: 2 }), tmp: rare(20) }), { maxLength: 2 }),
  layers: fc.array(content, { maxLength: 2 }),
  uploads: fc.array(fc.record({ recent: rare(30) }), { maxLength: 2 }),
  recent: rare(15),
  symlink: rare(8),
  junk: rare(15),
});

const treeSpec: fc.Arbitrary<TreeSpec> = fc.record({
  repos: fc.uniqueArray(fc.tuple(name, repoSpec), { selector: (t) => t[0], maxLength: 6 }),
  trash: fc.array(fc.tuple(name, fc.subarray([...PARTS], { minLength: 1 })), { maxLength: 2 }),
  emptyDirs: fc.array(
    name.map((n) => `${n}/e`),
    { maxLength: 2 },
  ),
  unknown: fc.array(name, { maxLength: 1 }),
  stray: fc.array(name, { maxLength: 1 }),
});

/** PER_RUN independent trees, each under its own top-level directory t<k>/ of one storage root. */
const forest: fc.Arbitrary<TreeSpec> = fc.array(treeSpec, { minLength: PER_RUN, maxLength: PER_RUN }).map((trees) => {
  const at =
    (k: number) =>
    (n: string): string =>
      `t${k}/${n}`;
  return {
    repos: trees.flatMap((t, k) => t.repos.map(([n, r]): [string, RepoSpec] => [at(k)(n), r])),
    trash: trees.flatMap((t, k) => t.trash.map(([n, p]): [string, string[]] => [at(k)(n), p])),
    emptyDirs: trees.flatMap((t, k) => t.emptyDirs.map(at(k))),
    unknown: trees.flatMap((t, k) => t.unknown.map(at(k))),
    stray: trees.flatMap((t, k) => t.stray.map(at(k))),
  };
});

function linkText(c: Content, seed: string): string {
  if (c === 'empty') return '';
  if (c === 'garbage') return 'definitely not a digest';
  return `sha256:${hex(seed)}${c === 'newline' ? '\n' : ''}`;
}

/** The tree on disk (relative to docker/registry/v2), plus what must be touched or linked after ageing. */
function materialize(spec: TreeSpec): { entries: Record<string, string | null>; recent: string[]; symlinks: string[] } {
  const entries: Record<string, string | null> = {};
  const recent: string[] = [];
  const symlinks: string[] = [];
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  spec.repos.forEach(([n, r], i) => {
    const base = `repositories/${n}`;
    const has = (p: string): boolean => r.parts.includes(p);
    for (const p of r.parts) entries[`${base}/${p}/`] = null;
    if (has('_manifests')) {
      r.tags.forEach((t, j) => {
        entries[`${base}/_manifests/tags/${t.name}/`] = null;
        if (t.current) entries[`${base}/_manifests/tags/${t.name}/current/link`] = linkText(t.current, `${i} tag ${j}`);
        if (t.index)
          entries[`${base}/_manifests/tags/${t.name}/index/sha256/${hex(`${i} idx ${j}`)}/link`] = linkText(
            'valid',
            `${i} idx ${j}`,
          );
      });
      r.revisions.forEach((v, j) => {
        const dir = `${base}/_manifests/revisions/sha256/${hex(`${i} rev ${j}`)}`;
        entries[`${dir}/`] = null;
        if (v.link) entries[`${dir}/link`] = linkText(v.link, `${i} rev ${j}`);
        if (v.tmp) entries[`${dir}/link.0f3c.tmp`] = 'half';
      });
      if (r.junk) entries[`${base}/_manifests/junk`] = 'x';
    }
    if (has('_layers')) {
      r.layers.forEach(
        (l, j) => (entries[`${base}/_layers/sha256/${hex(`${i} layer ${j}`)}/link`] = linkText(l, `${i} layer ${j}`)),
      );
      if (r.symlink) {
        entries[`${base}/_layers/sha256/`] = null;
        symlinks.push(`${base}/_layers/sha256/${hex(`${i} evil`)}`);
      }
    }
    if (has('_uploads')) {
      r.uploads.forEach((u, j) => {
        const up = `${base}/_uploads/00000000-0000-4000-8000-${String(j).padStart(12, '0')}`;
        entries[`${up}/startedat`] = u.recent ? now : '2020-01-01T00:00:00Z';
        entries[`${up}/data`] = 'bytes';
      });
    }
    if (r.recent) recent.push(`${base}/${r.parts[0]}`);
  });
  spec.trash.forEach(([n, parts], i) => {
    for (const p of parts) entries[`repositories/${n}/${TRASH}/${p}/leftover-${i}`] = 'from an interrupted prune';
  });
  for (const e of spec.emptyDirs) entries[`repositories/${e}/`] = null;
  for (const u of spec.unknown) entries[`repositories/${u}/_foo/`] = null;
  for (const s of spec.stray) entries[`repositories/${s}/notes.txt`] = 'stray';
  return { entries, recent, symlinks };
}

// ---------------------------------------------------------------------------------------------------------
// the model

/** The empty-repository rule: no tag current link, no revision link (whatever their content), nothing unknown, nothing recent. */
function deletable(r: RepoSpec): boolean {
  const m = r.parts.includes('_manifests');
  const tagLinks = m ? r.tags.filter((t) => t.current !== null).length : 0;
  const revisions = m ? r.revisions.filter((v) => v.link !== null).length : 0;
  const symlink = r.symlink && r.parts.includes('_layers');
  const uploadNow = r.parts.includes('_uploads') && r.uploads.some((u) => u.recent);
  return tagLinks === 0 && revisions === 0 && !symlink && !r.recent && !uploadNow;
}

/**
 * Paths (relative to docker/registry/v2/repositories, directories ending in `/`) left after a
 * prune: the deletable repositories' parts and every trash go, then every directory outside the
 * parts that is (or becomes) empty, except repositories/ itself. `_` entries other than parts
 * and trash (unknown to the registry) are never removed and keep their parents.
 */
function expectedAfter(before: string[], spec: TreeSpec): { paths: string[]; deleted: string[] } {
  const deleted = spec.repos
    .filter(([, r]) => deletable(r))
    .map(([n]) => n)
    .sort();
  const gone = (p: string): boolean =>
    deleted.some((n) => PARTS.some((part) => p.startsWith(`${n}/${part}/`) || p === `${n}/${part}`)) ||
    p.split('/').includes(TRASH);
  const left = new Set(before.filter((p) => !gone(p)));
  const insideAPart = (p: string): boolean => p.split('/').some((s) => s.startsWith('_'));
  for (let changed = true; changed;) {
    changed = false;
    for (const p of [...left]) {
      if (!p.endsWith('/') || p === '/' || insideAPart(p)) continue;
      if (![...left].some((q) => q !== p && q.startsWith(p))) {
        left.delete(p);
        changed = true;
      }
    }
  }
  return { paths: [...left].sort(), deleted };
}

function listing(repos: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const st = lstatSync(path.join(repos, rel));
    if (st.isDirectory()) {
      out.push(`${rel}/`.replace(/^\//, '') || '/');
      for (const e of readdirSync(path.join(repos, rel))) walk(rel ? `${rel}/${e}` : e);
    } else out.push(rel);
  };
  walk('');
  return out.map((p) => (p === '' ? '/' : p)).sort();
}

// ---------------------------------------------------------------------------------------------------------

const scratch = memTempDir('property');

let counter = 0;
/** Writes the tree; returns it with its listing under repositories/ (as listing() would give it, without walking). */
function build(spec: TreeSpec): { root: string; v2: string; before: string[] } {
  const root = path.join(scratch, String(counter++));
  const { entries, recent, symlinks } = materialize(spec);
  const v2 = writeStorage(root, entries);
  for (const s of symlinks) {
    symlinkSync('/etc/passwd', path.join(v2, s));
  }
  const now = Date.now() / 1000;
  for (const r of recent) utimesSync(path.join(v2, r), now, now);
  const files = new Set([...Object.keys(entries).filter((k) => !k.endsWith('/')), ...symlinks]);
  const before = [...storagePaths(entries), ...symlinks]
    .filter((p) => p.startsWith('repositories/'))
    .map((p) => `${p.slice('repositories/'.length)}${files.has(p) ? '' : '/'}`);
  return { root, v2, before: ['/', ...before].sort() };
}

async function prune(root: string, extra: { quarantine?: string } = {}): Promise<{ deleted: string[] }> {
  const out = await runPrune({
    root,
    dbFile: ':memory:',
    format: 'json',
    apply: true,
    now: Date.now(),
    minAgeMs: HOUR,
    uploadAgeMs: HOUR,
    jobs: 0,
    ...extra,
  });
  const json = JSON.parse(out.output) as { repositories: Array<{ name: string; deleted: boolean }> };
  return {
    deleted: json.repositories
      .filter((r) => r.deleted)
      .map((r) => r.name)
      .sort(),
  };
}

describe('property: prune deletes exactly what the model says', { timeout: 600_000 }, () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it(`${RUNS * PER_RUN} random trees (seed ${SEED})`, async (t) => {
    const started = Date.now();
    let deletions = 0;
    let trees = 0;
    await fc.assert(
      fc.asyncProperty(forest, async (spec) => {
        const { root, v2, before } = build(spec);
        try {
          const repos = path.join(v2, 'repositories');
          const blobs = lstatSync(path.join(v2, 'blobs'), { bigint: true }).mtimeNs;
          if (trees % 50 === 0) assert.deepEqual(listing(repos), before, 'the tree as written');
          const expected = expectedAfter(before, spec);
          const got = await prune(root);
          assert.deepEqual(got.deleted, expected.deleted, 'deleted repositories');
          assert.deepEqual(listing(repos), expected.paths, 'what is left under repositories/');
          assert.equal(lstatSync(path.join(v2, 'blobs'), { bigint: true }).mtimeNs, blobs, 'blobs/ untouched');
          deletions += got.deleted.length;
          trees += PER_RUN;
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    t.diagnostic(`${trees} trees, ${deletions} repositories deleted, ${Date.now() - started} ms`);
    assert.ok(deletions > trees / 4, 'the generator produces deletable repositories');
  });

  it(`quarantine then restore gives every random tree back exactly (seed ${SEED})`, async (t) => {
    const runs = Math.max(10, Math.round(RUNS / 20));
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(forest, async (spec) => {
        const { root, v2 } = build(spec);
        try {
          const pristine = storageSnapshot(root);
          const expected = expectedAfter(listing(path.join(v2, 'repositories')), spec);
          const q = path.join(root, 'quarantine');
          const got = await prune(root, { quarantine: q });
          assert.deepEqual(got.deleted, expected.deleted);
          assert.deepEqual(listing(path.join(v2, 'repositories')), expected.paths);
          const batch = readdirSync(q).find((b) => !b.startsWith('.'));
          if (batch) runRestore({ batch: path.join(q, batch), format: 'json', now: Date.now() });
          // the trash of an interrupted delete went to the quarantine too, and comes back as it was
          assertSameSnapshot(pristine, storageSnapshot(root), 'restored storage');
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      }),
      { seed: SEED + 1, numRuns: runs },
    );
    t.diagnostic(`${runs * PER_RUN} trees quarantined and restored, ${Date.now() - started} ms`);
  });
});
