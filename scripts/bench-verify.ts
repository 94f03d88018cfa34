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
 * warm (one untimed pass each first) and, with --cold, with the page cache dropped before each run.
 * diff: scans --large-tree (a 1M-file tree from scripts/gen-tree.ts) into A, copies the index to B and
 * changes a few thousand rows of B's scan (blobs removed and resized, tags removed and moved, layer
 * links and a repository added), then times `regaudit diff A B --format json`.
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
  rmSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

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
  }
  if (args.cold) {
    for (let i = 0; i < Math.max(1, Math.min(args.reps, 2)); i++) {
      log(`cold rep ${i + 1}`);
      dropCaches();
      rec('floor cold', timed(floor));
      dropCaches();
      rec('verify --all cold', timed(verify));
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
        ]
      : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

/** A few thousand changes in B's copy of the index, as a restore with losses and later pushes would leave. */
function damageIndex(file: string): number {
  const db = new Database(file);
  const scan = db
    .prepare(`SELECT id FROM scans WHERE status = 'complete' ORDER BY id DESC LIMIT 1`)
    .pluck()
    .get() as number;
  let n = 0;
  db.transaction(() => {
    n += db
      .prepare(
        `DELETE FROM blobs WHERE scan_id = ? AND digest IN (SELECT digest FROM blobs WHERE scan_id = ? ORDER BY digest LIMIT 1000)`,
      )
      .run(scan, scan).changes;
    n += db
      .prepare(
        `UPDATE blobs SET size = size + 1 WHERE scan_id = ? AND digest IN (SELECT digest FROM blobs WHERE scan_id = ? ORDER BY digest DESC LIMIT 500)`,
      )
      .run(scan, scan).changes;
    n += db
      .prepare(
        `DELETE FROM links WHERE rowid IN (SELECT l.rowid FROM links l JOIN repositories r ON r.id = l.repo_id WHERE r.scan_id = ? AND l.kind = 'tag-current' ORDER BY l.rowid LIMIT 1000)`,
      )
      .run(scan).changes;
    n += db
      .prepare(
        `UPDATE links SET digest = 'sha256:' || substr(digest, 8, 63) || '0' WHERE rowid IN (SELECT l.rowid FROM links l JOIN repositories r ON r.id = l.repo_id WHERE r.scan_id = ? AND l.kind = 'tag-current' ORDER BY l.rowid DESC LIMIT 500)`,
      )
      .run(scan).changes;
    n += db
      .prepare(
        `DELETE FROM links WHERE rowid IN (SELECT l.rowid FROM links l JOIN repositories r ON r.id = l.repo_id WHERE r.scan_id = ? AND l.kind = 'layer' ORDER BY l.rowid LIMIT 1000)`,
      )
      .run(scan).changes;
  })();
  db.close();
  return n;
}

function benchDiff(): void {
  if (!args.largeTree) {
    log('diff: no --large-tree given, skipped');
    return;
  }
  const a = path.join(OUT, 'diff-a.db');
  const b = path.join(OUT, 'diff-b.db');
  if (!existsSync(a)) {
    log(`scanning ${args.largeTree} into ${a} ...`);
    timed(`node ${CLI} scan ${args.largeTree} --db ${a} -q`);
  }
  rmSync(b, { force: true });
  copyFileSync(a, b);
  const changed = damageIndex(b);
  const secs: number[] = [];
  const rss: number[] = [];
  let changes = 0;
  for (let i = 0; i < args.reps; i++) {
    const t = timed(`node ${CLI} diff ${a} ${b} --format json`);
    changes = (JSON.parse(t.out) as { changes: unknown[] }).changes.length;
    secs.push(t.secs);
    rss.push(t.rssMiB);
  }
  process.stdout.write(
    `diff: two indexes of ${args.largeTree}, ${changed} rows changed in B, ${changes} changes reported\n\n| run | wall s, median (each) | peak RSS MiB, max |\n|---|---|---|\n| diff A B --format json | ${fmt(secs)} | ${Math.max(...rss).toFixed(0)} |\n`,
  );
}

if (args.only !== 'diff') benchVerify();
if (args.only !== 'verify') benchDiff();
