#!/usr/bin/env node
/**
 * Benchmark of `regaudit verify` and `regaudit diff` (docs/benchmarks.md, "verify and diff").
 *
 *   npx tsx scripts/bench-verify.ts [--gb 3] [--reps 3] [--cold] [--large-tree DIR] [--only verify|diff]
 *
 * verify: generates (once, cached in bench-out/verify-<gb>gb) blobs from 1 KB to 300 MB, log-uniform,
 * about --gb GiB in total, scans them, then times in the same run, alternating:
 *   floor:  find blobs -name data -print0 | xargs -0 -P$(nproc) -n 64 sha256sum
 *   verify: regaudit verify --db IDX --all
 *   rerun:  regaudit verify --db IDX (nothing changed since the previous run)
 *   and what bounds the rerun: `node -e 0` and `regaudit --version`
 * warm (one untimed pass each first) and, with --cold, with the page cache dropped before each run.
 * diff: scans --large-tree (a 1M-file tree from scripts/gen-tree.ts) into A, copies the tree with
 * `cp -al` (hard links) into bench-out/diff-b-tree, makes a few thousand changes there on disk (blobs
 * removed and resized, tag directories removed, tags moved, layer links removed, a repository added;
 * never writing a file in place), scans it into B, times `regaudit diff A B --format json` and checks
 * that it reports exactly the changes made, counted by kind (exit 1 if not).
 * Wall time and peak RSS come from /usr/bin/time.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  writeSync,
  closeSync,
  writeFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Digest } from '../src/layout/digest.js';
import { inRepository, pathFor } from '../src/layout/paths.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(REPO, 'bench-out');
mkdirSync(OUT, { recursive: true });
// A copy of the built CLI, so rebuilding dist/ during a long run does not change what is measured.
const SNAPSHOT = path.join(OUT, 'dist-snapshot');
rmSync(SNAPSHOT, { recursive: true, force: true });
cpSync(path.join(REPO, 'dist'), SNAPSHOT, { recursive: true });
copyFileSync(path.join(REPO, 'package.json'), path.join(SNAPSHOT, 'package.json'));
const CLI = path.join(SNAPSHOT, 'src', 'cli', 'main.js');

const args = { gb: 3, reps: 3, cold: false, largeTree: '', only: '' };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i];
  const v = (): string => process.argv[++i] ?? '';
  if (k === '--gb') args.gb = Number(v());
  else if (k === '--reps') args.reps = Number(v());
  else if (k === '--cold') args.cold = true;
  else if (k === '--large-tree') args.largeTree = v();
  else if (k === '--only') args.only = v();
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

/** Runs a shell command under /usr/bin/time: wall seconds and peak RSS (MiB). */
function timed(cmd: string): { secs: number; rssMiB: number; out: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '@@ %e %M', 'bash', '-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const m = /@@ ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr.slice(-500)}`);
  if (!m) throw new Error(`no timing for ${cmd}: ${r.stderr.slice(-300)}`);
  return { secs: Number(m[1]), rssMiB: Number(m[2]) / 1024, out: r.stdout };
}

function dropCaches(): void {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generateBlobs(dir: string, gib: number): { blobs: number; bytes: number } {
  const marker = path.join(dir, 'done.json');
  if (existsSync(marker))
    return JSON.parse(String(spawnSync('cat', [marker]).stdout)) as { blobs: number; bytes: number };
  rmSync(dir, { recursive: true, force: true });
  const rand = prng(12);
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(rand() * 256);
  const target = gib * 2 ** 30;
  let bytes = 0;
  let blobs = 0;
  const v2 = path.join(dir, 'docker', 'registry', 'v2');
  mkdirSync(path.join(v2, 'repositories'), { recursive: true });
  while (bytes < target) {
    // log-uniform 1 KB .. 300 MB
    const size = Math.min(
      Math.round(Math.exp(Math.log(1024) + rand() * (Math.log(300e6) - Math.log(1024)))),
      target - bytes + 1024,
    );
    const head = Buffer.from(`blob ${blobs} `);
    const hash = createHash('sha256');
    const tmp = path.join(dir, 'tmp-data');
    const fd = openSync(tmp, 'w');
    let left = size;
    let first = true;
    while (left > 0) {
      const piece = first
        ? Buffer.concat([head, chunk]).subarray(0, Math.min(left, chunk.length))
        : chunk.subarray(0, Math.min(left, chunk.length));
      first = false;
      hash.update(piece);
      writeSync(fd, piece);
      left -= piece.length;
    }
    closeSync(fd);
    const hex = hash.digest('hex');
    const d = path.join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex);
    mkdirSync(d, { recursive: true });
    spawnSync('mv', [tmp, path.join(d, 'data')]);
    bytes += size;
    blobs++;
  }
  writeFileSync(marker, JSON.stringify({ blobs, bytes }));
  return { blobs, bytes };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]): string => `${median(xs).toFixed(2)} (${xs.map((x) => x.toFixed(2)).join(', ')})`;

function benchVerify(): void {
  const dir = path.join(OUT, `verify-${args.gb}gb`);
  log(`generating ~${args.gb} GiB of blobs in ${dir} (cached) ...`);
  const g = generateBlobs(dir, args.gb);
  const db = path.join(OUT, `verify-${args.gb}gb.db`);
  rmSync(db, { force: true });
  const v2 = path.join(dir, 'docker', 'registry', 'v2');
  timed(`node ${CLI} scan ${dir} --db ${db} -q`);
  const floor = `cd ${v2} && find blobs -name data -print0 | xargs -0 -P$(nproc) -n 64 sha256sum > /dev/null`;
  const verify = `node ${CLI} verify --db ${db} --all -q --format json > /dev/null`;
  const rerun = `node ${CLI} verify --db ${db} -q --format json > /dev/null`;
  // What bounds the rerun: Node's own start, and the CLI's start with no command work.
  const bare = `node -e 0`;
  const version = `node ${CLI} --version > /dev/null`;
  const res: Record<string, { secs: number[]; rss: number[] }> = {};
  const rec = (k: string, t: { secs: number; rssMiB: number }): void => {
    (res[k] ??= { secs: [], rss: [] }).secs.push(t.secs);
    res[k].rss.push(t.rssMiB);
  };
  log('warm-up ...');
  timed(floor);
  timed(verify);
  for (let i = 0; i < args.reps; i++) {
    log(`warm rep ${i + 1}`);
    rec('floor warm', timed(floor));
    rec('verify --all warm', timed(verify));
    rec('verify rerun (unchanged)', timed(rerun));
    rec('node -e 0 (bare Node)', timed(bare));
    rec('regaudit --version', timed(version));
  }
  if (args.cold) {
    for (let i = 0; i < Math.max(1, Math.min(args.reps, 2)); i++) {
      log(`cold rep ${i + 1}`);
      dropCaches();
      rec('floor cold', timed(floor));
      dropCaches();
      rec('verify --all cold', timed(verify));
      dropCaches();
      rec('verify rerun (unchanged) cold', timed(rerun));
    }
  }
  const lines = [
    `verify: ${g.blobs} blobs, ${(g.bytes / 2 ** 30).toFixed(2)} GiB, ${args.reps} reps, nproc ${spawnSync('nproc').stdout.toString().trim()}`,
    '',
    '| run | wall s, median (each) | peak RSS MiB, max |',
    '|---|---|---|',
    ...Object.entries(res).map(([k, v]) => `| ${k} | ${fmt(v.secs)} | ${Math.max(...v.rss).toFixed(0)} |`),
    '',
    'ratios per rep (same rep, back to back):',
    `- verify/floor warm: ${res['verify --all warm']!.secs.map((s, i) => (s / res['floor warm']!.secs[i]!).toFixed(2)).join(', ')}`,
    `- rerun/verify warm: ${res['verify rerun (unchanged)']!.secs.map((s, i) => (s / res['verify --all warm']!.secs[i]!).toFixed(3)).join(', ')}`,
    ...(args.cold
      ? [
          `- verify/floor cold: ${res['verify --all cold']!.secs.map((s, i) => (s / res['floor cold']!.secs[i]!).toFixed(2)).join(', ')}`,
          `- rerun/verify cold: ${res['verify rerun (unchanged) cold']!.secs.map((s, i) => (s / res['verify --all cold']!.secs[i]!).toFixed(3)).join(', ')}`,
        ]
      : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

const sh = (cmd: string): void => {
  const r = spawnSync('bash', ['-c', cmd], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}`);
};

/**
 * A few thousand changes on disk in B (a `cp -al` copy of A: hard links, so nothing is ever written
 * in place; a changed file is a new file renamed over the old name), picked from A's index: blobs
 * removed and resized, tag directories removed, tags moved, layer links removed, a repository added.
 * Returns the changes diff must report, counted by kind.
 */
function changeTree(aIndex: string, v2: string): Map<string, number> {
  const db = new Database(aIndex, { readonly: true });
  const scan = db
    .prepare(`SELECT id FROM scans WHERE status = 'complete' ORDER BY id DESC LIMIT 1`)
    .pluck()
    .get() as number;
  const at = (rel: string): string => path.join(v2, rel);
  const expected = new Map<string, number>();
  const count = (kind: string, n: number): void => void expected.set(kind, (expected.get(kind) ?? 0) + n);
  // A pseudo-random but stable order: the digests' middle characters.
  const shuffled = `substr(l.path_digest, 30, 8)`;

  // The added repository: a copy (hard links) of one that no other change touches.
  const source = db
    .prepare(
      `SELECT r.id, r.name FROM repositories r WHERE r.scan_id = ?
       AND EXISTS (SELECT 1 FROM links l WHERE l.repo_id = r.id AND l.kind = 'tag-current') ORDER BY r.name LIMIT 1`,
    )
    .get(scan) as { id: number; name: string };
  const added = 'bench-diff/added';
  mkdirSync(path.dirname(at(pathFor({ kind: 'repository', repo: added }))), { recursive: true });
  sh(
    `cp -al '${at(pathFor({ kind: 'repository', repo: source.name }))}' '${at(pathFor({ kind: 'repository', repo: added }))}'`,
  );
  count('repository-added', 1);
  for (const [kind, change] of [
    ['tag-current', 'tag-added'],
    ['revision', 'revision-added'],
    ['layer', 'layer-link-added'],
  ] as const)
    count(
      change,
      db.prepare(`SELECT count(*) FROM links WHERE repo_id = ? AND kind = ?`).pluck().get(source.id, kind) as number,
    );

  const blobs = db
    .prepare(`SELECT digest, size FROM blobs WHERE scan_id = ? ORDER BY substr(digest, 30, 8) LIMIT 5000`)
    .all(scan) as Array<{ digest: Digest; size: number }>;
  for (const b of blobs.slice(0, 1000))
    rmSync(path.dirname(at(pathFor({ kind: 'blobData', digest: b.digest }))), { recursive: true });
  count('blob-removed', 1000);
  const resized = blobs
    .slice(1000)
    .filter((b) => b.size < 1 << 20)
    .slice(0, 200);
  for (const b of resized) {
    const data = at(pathFor({ kind: 'blobData', digest: b.digest }));
    writeFileSync(`${data}.new`, Buffer.alloc(b.size + 1, 7));
    renameSync(`${data}.new`, data);
  }
  count('blob-size-changed', resized.length);

  const tags = db
    .prepare(
      `SELECT r.name AS repo, l.tag, l.digest, (SELECT min(v.path_digest) FROM links v WHERE v.repo_id = r.id AND v.kind = 'revision'
         AND v.path_digest <> l.digest) AS other
       FROM links l JOIN repositories r ON r.id = l.repo_id
       WHERE r.scan_id = ? AND r.id <> ? AND l.kind = 'tag-current' AND l.digest IS NOT NULL ORDER BY ${shuffled}, r.name, l.tag`,
    )
    .all(scan, source.id) as Array<{ repo: string; tag: string; digest: string; other: Digest | null }>;
  for (const t of tags.slice(0, 1000))
    rmSync(at(inRepository(t.repo, { kind: 'tagDir', tag: t.tag })), { recursive: true });
  count('tag-removed', 1000);
  const movable = tags
    .slice(1000)
    .filter((t) => t.other !== null)
    .slice(0, 500);
  for (const t of movable) {
    const link = at(pathFor({ kind: 'tagCurrentLink', repo: t.repo, tag: t.tag }));
    writeFileSync(`${link}.new`, t.other!);
    renameSync(`${link}.new`, link);
  }
  count('tag-moved', movable.length);

  const layers = db
    .prepare(
      `SELECT r.name AS repo, l.path_digest AS digest FROM links l JOIN repositories r ON r.id = l.repo_id
       WHERE r.scan_id = ? AND r.id <> ? AND l.kind = 'layer' AND l.path_digest IS NOT NULL ORDER BY ${shuffled}, r.name LIMIT 1000`,
    )
    .all(scan, source.id) as Array<{ repo: string; digest: Digest }>;
  for (const l of layers)
    rmSync(path.dirname(at(pathFor({ kind: 'layerLink', repo: l.repo, digest: l.digest }))), { recursive: true });
  count('layer-link-removed', layers.length);
  db.close();
  return expected;
}

/** `diff A B` where A and B are real scans: of the large tree, and of a changed hard-linked copy of it. */
function benchDiff(): void {
  if (!args.largeTree) {
    log('diff: no --large-tree given, skipped');
    return;
  }
  const a = path.join(OUT, 'diff-a.db');
  const b = path.join(OUT, 'diff-b.db');
  const copy = path.join(OUT, 'diff-b-tree');
  rmSync(a, { force: true });
  rmSync(b, { force: true });
  log(`scanning ${args.largeTree} into A ...`);
  const scanA = timed(`node ${CLI} scan ${args.largeTree} --db ${a} -q`);
  log(`cp -al into ${copy}, then changes on disk ...`);
  rmSync(copy, { recursive: true, force: true });
  sh(`cp -al '${args.largeTree}' '${copy}'`);
  const expected = changeTree(a, path.join(copy, 'docker', 'registry', 'v2'));
  log(`scanning B ...`);
  const scanB = timed(`node ${CLI} scan ${copy} --db ${b} -q`);
  const secs: number[] = [];
  const rss: number[] = [];
  let got = new Map<string, number>();
  for (let i = 0; i < args.reps; i++) {
    const t = timed(`node ${CLI} diff ${a} ${b} --format json`);
    got = new Map();
    for (const c of (JSON.parse(t.out) as { changes: Array<{ kind: string }> }).changes)
      got.set(c.kind, (got.get(c.kind) ?? 0) + 1);
    secs.push(t.secs);
    rss.push(t.rssMiB);
  }
  const kinds = [...new Set([...expected.keys(), ...got.keys()])].sort();
  const exact = kinds.every((k) => expected.get(k) === got.get(k));
  const total = (m: Map<string, number>): number => [...m.values()].reduce((x, y) => x + y, 0);
  process.stdout.write(
    [
      `diff: A = scan of ${args.largeTree} (${scanA.secs.toFixed(1)} s), B = scan of a cp -al copy with changes on disk (${scanB.secs.toFixed(1)} s)`,
      '',
      '| change kind | made on disk | reported |',
      '|---|---|---|',
      ...kinds.map((k) => `| ${k} | ${expected.get(k) ?? 0} | ${got.get(k) ?? 0} |`),
      `| total | ${total(expected)} | ${total(got)} |`,
      '',
      `reported exactly the changes made: ${exact ? 'yes' : 'NO'}`,
      '',
      '| run | wall s, median (each) | peak RSS MiB, max |',
      '|---|---|---|',
      `| diff A B --format json | ${fmt(secs)} | ${Math.max(...rss).toFixed(0)} |`,
      '',
    ].join('\n'),
  );
  rmSync(copy, { recursive: true, force: true });
  if (!exact) process.exitCode = 1;
}

if (args.only !== 'diff') benchVerify();
if (args.only !== 'verify') benchDiff();
