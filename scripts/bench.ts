#!/usr/bin/env node
/**
 * The performance benchmark: one run, one tree, every measurement, medians.
 *
 *   npx tsx scripts/bench.ts --size small|medium|large [--seed 1] [--reps 3] [--cold] [--out FILE]
 *                            [--only id,id] [--skip id,id] [--no-build] [--no-warm] [--no-outputs]
 *   npx tsx scripts/bench.ts --s3 [--size 60000] [--seed 1] [--reps 3] [--requests 32] [--extra-layers 0]   (object storage: bench-s3.ts)
 *
 * - generates the tree once (cached under bench-out/<size>-<seed>/tree, reused while its summary.json exists);
 * - compiles scripts/floor.c with `cc -O2 -pthread`;
 * - builds the CLI (`tsc -p tsconfig.json` and scripts/build-cli.mjs, unless --no-build) and runs `node dist/src/cli/main.js`;
 * - runs every measurement under `/usr/bin/time -v` (wall clock measured here, peak RSS from time):
 *   warm (one untimed warm-up pass, then --reps passes) and, with --cold, cold
 *   (`sync; echo 3 > /proc/sys/vm/drop_caches` before every run; needs root);
 *   passes are interleaved (rep 1 of everything, then rep 2, ...) so that drift hits all alike;
 * - then runs the commands whose output grows with the tree (report, usage, gc-preview, catalog, the
 *   prune and gc plans) once each in every format (ids out-<command>-<format>; --no-outputs skips
 *   them): a table of command × format → seconds and peak RSS, with large ÷ medium when medium ran;
 * - prints markdown tables (medians, ratios to the floor, peak RSS, targets pass/fail) and writes them
 *   to bench-out/<size>-<seed>/results.{md,json} and to --out when given.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTree, type Summary, type TreeSize } from './gen-tree.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The bench builds its own snapshot of the CLI here, so that builds by others during a run do not change what is measured. */
const BUILD = path.join(REPO, 'bench-out', 'build');
let CLI = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
let FASTGLOB_JS = path.join(REPO, 'dist', 'scripts', 'bench-fastglob.js');
const TIME = '/usr/bin/time';
/** CLI commands measured as queries when the CLI has them (prune without --apply is a dry run). */
const QUERY_COMMANDS = ['report', 'usage', 'prune', 'gc-preview', 'catalog'];
/**
 * Plans (prune, gc) take `--min-age 0s`: a freshly generated tree is younger than the default age,
 * and the plan measured must not depend on when the tree was generated.
 */
const ANY_AGE = ['--min-age', '0s'];
/** Extra arguments of a query command: the GC preview the target names is scenario 2 (2.8 without --delete-untagged). */
const QUERY_ARGS: Record<string, string[]> = { 'gc-preview': ['--scenario', '2'], prune: ANY_AGE };

// ---------------------------------------------------------------------------------------------
// arguments

interface Args {
  size: TreeSize | number;
  seed: number;
  reps: number;
  cold: boolean;
  coldReps?: number;
  warm: boolean;
  out?: string;
  only?: string[];
  skip: string[];
  build: boolean;
  /** the output commands' peak RSS, one run each in every format (outputMeasurements) */
  outputs: boolean;
  /** only re-render bench-out/<size>-<seed>/results.json (e.g. after a change to the report) */
  render?: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { size: 'small', seed: 1, reps: 3, cold: false, warm: true, skip: [], build: true, outputs: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--size') {
      const s = v();
      a.size = s === 'small' || s === 'medium' || s === 'large' ? s : Number(s);
      if (typeof a.size === 'number' && !(a.size > 0)) throw new Error(`bad --size ${s}`);
    } else if (k === '--seed') a.seed = Number(v());
    else if (k === '--reps') a.reps = Math.max(1, Number(v()));
    else if (k === '--cold') a.cold = true;
    else if (k === '--cold-reps') a.coldReps = Math.max(1, Number(v()));
    else if (k === '--no-warm') a.warm = false;
    else if (k === '--out') a.out = v();
    else if (k === '--only') a.only = v().split(',');
    else if (k === '--skip') a.skip = v().split(',');
    else if (k === '--no-build') a.build = false;
    else if (k === '--no-outputs') a.outputs = false;
    else if (k === '--render') a.render = true;
    else if (k === '-h' || k === '--help') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// helpers

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd ?? REPO, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
}

function machine(): Record<string, string> {
  const cpu =
    readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model ?? '?';
  const mhz = readFileSync('/proc/cpuinfo', 'utf8').match(/^cpu MHz\s*:\s*(.*)$/m)?.[1];
  const df = sh('df', ['-hT', REPO]).out.trim().split('\n')[1]?.split(/\s+/) ?? [];
  const dev = df[0] ?? '?';
  const lsblk = sh('lsblk', ['-dno', 'NAME,ROTA,SIZE,MODEL', dev.replace(/\d+$/, '')]).out.trim();
  return {
    cpus: `${os.cpus().length} (nproc ${sh('nproc', []).out.trim()})`,
    cpu: `${cpu}${mhz ? ` @ ${Math.round(Number(mhz))} MHz` : ''}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB${/Swap:\s+0B/.test(sh('free', ['-h']).out) ? ', no swap' : ''}`,
    disk: `${dev} ${df[1] ?? ''} ${df[2] ?? ''} (${lsblk || 'lsblk n/a'}${lsblk.split(/\s+/)[1] === '1' ? ', reported rotational (virtual disk)' : ''})`,
    kernel: `${os.type()} ${os.release()}`,
    os: readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?(.*?)"?$/m)?.[1] ?? '?',
    node: process.version,
    'docker-registry': sh('docker-registry', ['--version']).out.trim() || 'absent',
    cc: sh('cc', ['--version']).out.split('\n')[0] ?? '?',
    commit: `${sh('git', ['rev-parse', '--short', 'HEAD']).out.trim()}${sh('git', ['status', '--porcelain', '--', 'src']).out.trim() ? ' (src/ has uncommitted changes)' : ''}`,
    'page reclaim': proactiveReclaim(),
  };
}

/**
 * A VM may page out what was not touched lately (DAMON "pageout"): then "warm" only means
 * "read within that age", and a tree left alone between two runs goes cold.
 */
function proactiveReclaim(): string {
  const k = '/sys/kernel/mm/damon/admin/kdamonds/0';
  const read = (rel: string): string => {
    try {
      return readFileSync(`${k}/${rel}`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  if (read('state') !== 'on') return 'no proactive reclaim (DAMON off or absent)';
  const action = read('contexts/0/schemes/0/action');
  const minAge = Number(read('contexts/0/schemes/0/access_pattern/age/min'));
  const aggrUs = Number(read('contexts/0/monitoring_attrs/intervals/aggr_us'));
  const idle = Number.isFinite(minAge * aggrUs) && aggrUs > 0 ? `${((minAge * aggrUs) / 1e6).toFixed(0)} s` : '?';
  return `DAMON ${action || '?'} of memory idle ≥ ${idle}: a tree left alone that long goes cold`;
}

function canDropCaches(): boolean {
  try {
    spawnSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

function dropCaches(): void {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

// ---------------------------------------------------------------------------------------------
// measurements

interface Measurement {
  id: string;
  label: string;
  argv: string[];
  /** keep stdout (small outputs only) for `check`; otherwise it goes to /dev/null */
  capture?: boolean;
  before?: () => void;
  /** returns an error message when the run did not do the expected work */
  check?: (stdout: string) => string | undefined;
  kind: 'floor' | 'reference' | 'regaudit' | 'query' | 'output';
}

interface Run {
  wall: number;
  rssMB: number | null;
  code: number;
  /** A scan's own phase timings (REGAUDIT_TIMINGS), in ms. */
  phases?: Array<[string, number]>;
}

interface Result {
  id: string;
  label: string;
  kind: Measurement['kind'];
  mode: 'warm' | 'cold';
  runs: Run[];
  median: number;
  min: number;
  max: number;
  rssMB: number | null;
  /** Median ms per phase over the timed runs (scans only). */
  phases?: Array<[string, number]>;
  error?: string;
}

/** The walkers print `files=N` (and the floor more `key=N`); each present key must match the tree. */
function countCheck(expected: Record<string, number>): (out: string) => string | undefined {
  return (out) => {
    if (!/files=\d+/.test(out)) return `no files= in output: ${out.slice(0, 200)}`;
    for (const [key, want] of Object.entries(expected)) {
      const got = new RegExp(`\\b${key}=(\\d+)`).exec(out)?.[1];
      if (got !== undefined && Number(got) !== want) return `${key}=${got}, expected ${want}`;
    }
    return undefined;
  };
}

/** What every walker must have seen in the tree (summary.json). */
function expectedCounts(s: Summary): Record<string, number> {
  return {
    files: s.files,
    links: s.layerLinks + s.revisions + s.tags + s.tagIndexEntries,
    blobs: s.blobs,
    startedat: s.uploads,
  };
}

/** The subcommands of the CLI and, for each, its --help text. */
function cliCommands(): Map<string, string> {
  const cmds = new Map<string, string>();
  const help = sh(process.execPath, [CLI, '--help']);
  if (help.code !== 0) return cmds;
  const section = help.out.split(/^Commands:\s*$/m)[1] ?? '';
  for (const line of section.split('\n')) {
    const name = /^\s{2}([a-z][\w-]*)/.exec(line)?.[1];
    if (!name || name === 'help') continue;
    cmds.set(name, sh(process.execPath, [CLI, name, '--help']).out);
  }
  return cmds;
}

function measurements(
  root: string,
  work: string,
  floorBin: string,
  s: Summary,
  cli: Map<string, string>,
): Measurement[] {
  const db = path.join(work, 'bench.db');
  const rmDb = (): void => {
    for (const f of [db, `${db}-wal`, `${db}-shm`, `${db}-journal`]) rmSync(f, { force: true });
  };
  const fgScript = existsSync(FASTGLOB_JS)
    ? [process.execPath, FASTGLOB_JS]
    : [process.execPath, '--import', 'tsx', path.join(REPO, 'scripts', 'bench-fastglob.ts')];
  const gcConfig = path.join(work, 'gc.yml');
  writeFileSync(gcConfig, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${root}\n`);

  const ms: Measurement[] = [];
  const counts = expectedCounts(s);
  for (const t of [1, 2, 8]) {
    ms.push({
      id: `floor-${t}`,
      label: `floor (C, layout-aware, ${t} thread${t > 1 ? 's' : ''})`,
      argv: [floorBin, root, String(t), 'layout'],
      capture: true,
      // the layout floor reaches every directory once (by listing it or by name): the tree's count
      check: countCheck({ ...counts, dirs: s.dirs }),
      kind: 'floor',
    });
  }
  for (const t of [2, 8]) {
    ms.push({
      id: `floor-generic-${t}`,
      label: `floor (C, generic listing, ${t} threads)`,
      argv: [floorBin, root, String(t), 'generic'],
      capture: true,
      check: countCheck(counts),
      kind: 'floor',
    });
  }
  ms.push({ id: 'find', label: '`find ROOT -type f`', argv: ['find', root, '-type', 'f'], kind: 'reference' });
  if (existsSync('/usr/bin/docker-registry')) {
    ms.push({
      id: 'gc',
      label: '`docker-registry garbage-collect --dry-run`',
      argv: ['/usr/bin/docker-registry', 'garbage-collect', '--dry-run', gcConfig],
      kind: 'reference',
    });
  } else log('!! /usr/bin/docker-registry not found: the garbage-collect measurement is skipped');
  ms.push({
    id: 'fg-sync',
    label: 'fast-glob sync (list only)',
    argv: [...fgScript, root, 'sync'],
    capture: true,
    check: countCheck({ files: s.files }),
    kind: 'reference',
  });
  ms.push({
    id: 'fg-async',
    label: 'fast-glob async (list only)',
    argv: [...fgScript, root, 'async'],
    capture: true,
    check: countCheck({ files: s.files }),
    kind: 'reference',
  });
  ms.push({
    id: 'node-walk',
    label: 'Node sync readdir walk (floor work)',
    argv: [...fgScript, root, 'node-walk'],
    capture: true,
    check: countCheck({ files: s.files }),
    kind: 'reference',
  });

  if (cli.size === 0) {
    log(
      `!! regaudit CLI not available (${path.relative(REPO, CLI)} missing or --help failed): regaudit measurements skipped`,
    );
    return ms;
  }
  const quiet = (h: string | undefined): string[] => (h && /--quiet/.test(h) ? ['--quiet'] : []);
  const scanHelp = cli.get('scan');
  if (scanHelp !== undefined) {
    ms.push({
      id: 'scan',
      label: '`regaudit scan` (full, new db)',
      argv: [process.execPath, CLI, 'scan', root, '--db', db, ...quiet(scanHelp)],
      before: rmDb,
      kind: 'regaudit',
    });
    ms.push({
      id: 'rescan',
      label: '`regaudit scan` (again, unchanged tree)',
      argv: [process.execPath, CLI, 'scan', root, '--db', db, ...quiet(scanHelp)],
      kind: 'regaudit',
    });
  } else log('!! the CLI has no scan command: scan measurements skipped');
  // Read-only queries only (never restore/quarantine/...): the report, usage and prune-plan queries the targets name.
  for (const [name, help] of cli) {
    if (!QUERY_COMMANDS.includes(name) || !/--db/.test(help)) continue;
    const fmt = [...(/--format/.test(help) ? ['--format', 'json'] : []), ...(QUERY_ARGS[name] ?? [])];
    const usage = help.split('\n')[0] ?? '';
    const needsRoot = /<root>/.test(usage);
    const argv = [process.execPath, CLI, name, ...(needsRoot ? [root] : []), '--db', db, ...fmt, ...quiet(help)];
    if (/--apply/.test(help) || /--dry-run/.test(help)) {
      if (/--dry-run/.test(help)) argv.push('--dry-run');
      // never pass --apply: the benchmark must not change the tree
    }
    ms.push({
      id: name,
      label: `\`regaudit ${name}${needsRoot ? ' ROOT' : ''}${fmt.length ? ` ${fmt.join(' ')}` : ''}\`${needsRoot ? ' (scans first)' : ''}`,
      argv,
      kind: 'query',
    });
  }
  if (cli.has('gc')) ms.push(...gcMeasurements(root, work, db));
  return ms;
}

/**
 * The commands whose output grows with the tree, in every format, on the existing index (stdout to
 * /dev/null, so the run writes all of it): their peak RSS is the issue-11 measure (at most 256 MB,
 * large at most 1.2x medium). Read-only: plans and previews only, never --apply.
 */
const OUTPUT_COMMANDS: ReadonlyArray<{ id: string; argv: string[] }> = [
  { id: 'report', argv: ['report'] },
  { id: 'usage', argv: ['usage'] },
  { id: 'usage-tag', argv: ['usage', '--by', 'tag'] },
  { id: 'gc-preview', argv: ['gc-preview'] },
  { id: 'catalog', argv: ['catalog'] },
  { id: 'prune', argv: ['prune', ...ANY_AGE] },
  { id: 'gc', argv: ['gc', ...ANY_AGE] },
  { id: 'gc-untagged', argv: ['gc', '--delete-untagged', ...ANY_AGE] },
];
const OUTPUT_FORMATS = ['table', 'json', 'csv'] as const;

function outputMeasurements(root: string, db: string): Measurement[] {
  const ensureIndex = (): void => {
    if (!existsSync(db)) sh(process.execPath, [CLI, 'scan', root, '--db', db, '--quiet']);
  };
  return OUTPUT_COMMANDS.flatMap((c) =>
    OUTPUT_FORMATS.map((f): Measurement => ({
      id: `out-${c.id}-${f}`,
      label: `\`regaudit ${c.argv.join(' ')} --format ${f}\``,
      argv: [process.execPath, CLI, ...c.argv, '--db', db, '--format', f, '--quiet'],
      before: ensureIndex,
      kind: 'output',
    })),
  );
}

/**
 * regaudit gc next to the registry's own garbage-collect on the same tree: the plan from the
 * existing index (read-only), and the apply on a fresh copy (copied with hard links and scanned,
 * untimed, before each run), beside a real `garbage-collect` on another fresh copy. The dry run is the
 * `gc` measurement.
 */
function gcMeasurements(root: string, work: string, db: string): Measurement[] {
  const copy = path.join(work, 'gc-copy');
  const copyDb = path.join(work, 'gc-copy.db');
  const copyConfig = path.join(work, 'gc-copy.yml');
  writeFileSync(
    copyConfig,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${copy}\n`,
  );
  // A copy of directories with hard links to the files: seconds even on large, where a full copy
  // takes minutes per run. Safe because both collectors only unlink, rmdir and rename in the copy,
  // never write a file in place; unlinking a name frees no blocks, alike for both.
  const freshCopy = (): void => {
    rmSync(copy, { recursive: true, force: true });
    const t0 = process.hrtime.bigint();
    const cp = sh('cp', ['-a', '--link', '--no-target-directory', root, copy]);
    if (cp.code !== 0) throw new Error(`cp -a --link ${root} ${copy}: ${cp.err}`);
    log(`   (copy of the tree for gc: ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s)`);
  };
  const ensureIndex = (): void => {
    if (!existsSync(db)) sh(process.execPath, [CLI, 'scan', root, '--db', db, '--quiet']);
  };
  const ms: Measurement[] = [
    {
      id: 'gc-plan',
      label: '`regaudit gc --db DB --min-age 0s --format json` (plan from an existing index)',
      argv: [process.execPath, CLI, 'gc', '--db', db, ...ANY_AGE, '--format', 'json', '--quiet'],
      before: ensureIndex,
      kind: 'query',
    },
    {
      id: 'gc-apply',
      label: '`regaudit gc --db DB --apply --min-age 0s` (on a fresh copy, scanned untimed)',
      argv: [process.execPath, CLI, 'gc', '--db', copyDb, '--apply', ...ANY_AGE, '--format', 'json', '--quiet'],
      before: () => {
        freshCopy();
        for (const f of [copyDb, `${copyDb}-wal`, `${copyDb}-shm`]) rmSync(f, { force: true });
        const r = sh(process.execPath, [CLI, 'scan', copy, '--db', copyDb, '--quiet']);
        if (r.code !== 0) throw new Error(`scan of the copy: ${r.err}`);
      },
      kind: 'regaudit',
    },
  ];
  if (existsSync('/usr/bin/docker-registry'))
    ms.push({
      id: 'gc-real',
      label: '`docker-registry garbage-collect` (real run, on a fresh copy)',
      argv: ['/usr/bin/docker-registry', 'garbage-collect', copyConfig],
      before: freshCopy,
      kind: 'reference',
    });
  return ms;
}

function runOnce(m: Measurement, work: string, cold: boolean): { run: Run; stdout: string; stderr: string } {
  if (cold) dropCaches();
  m.before?.();
  const timeFile = path.join(work, 'time.txt');
  const outFile = path.join(work, 'stdout.txt');
  const errFile = path.join(work, 'stderr.txt');
  rmSync(timeFile, { force: true });
  const outFd = openSync(m.capture ? outFile : '/dev/null', 'w');
  const errFd = openSync(errFile, 'w');
  const hasTime = existsSync(TIME);
  const t0 = process.hrtime.bigint();
  const r = hasTime
    ? spawnSync(TIME, ['-v', '-o', timeFile, ...m.argv], { stdio: ['ignore', outFd, errFd], cwd: REPO, env: TIMED_ENV })
    : spawnSync(m.argv[0] ?? '', m.argv.slice(1), { stdio: ['ignore', outFd, errFd], cwd: REPO, env: TIMED_ENV });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  closeSync(outFd);
  closeSync(errFd);
  let rssMB: number | null = null;
  let code = r.status ?? -1;
  if (hasTime && existsSync(timeFile)) {
    const t = readFileSync(timeFile, 'utf8');
    const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(t)?.[1];
    if (kb) rssMB = Number(kb) / 1024;
    const ex = /Exit status: (\d+)/.exec(t)?.[1];
    if (ex) code = Number(ex);
  }
  const stderr = readFileSync(errFile, 'utf8');
  const phaseLine = /^phases \(ms\): (.*)$/m.exec(stderr)?.[1];
  const phases = phaseLine?.split(', ').map((p): [string, number] => {
    const i = p.lastIndexOf(' ');
    return [p.slice(0, i), Number(p.slice(i + 1))];
  });
  return {
    run: { wall, rssMB, code, ...(phases ? { phases } : {}) },
    stdout: m.capture ? readFileSync(outFile, 'utf8') : '',
    stderr,
  };
}

/** regaudit scans print their phase timings on stderr with this (src/cli/commands/scan.ts). */
const TIMED_ENV = { ...process.env, REGAUDIT_TIMINGS: '1' };

/** Median of each phase over the runs that reported phases, in the order of the first. */
function medianPhases(runs: readonly Run[]): Array<[string, number]> | undefined {
  const withPhases = runs.filter((r) => r.phases);
  if (!withPhases.length) return undefined;
  return withPhases[0]!.phases!.map(([name]) => [
    name,
    median(withPhases.map((r) => r.phases!.find(([n]) => n === name)?.[1] ?? 0)),
  ]);
}

/** Where the scans' time went, one row per scan measurement. */
function phaseTable(results: readonly Result[]): string | null {
  const rows = results.filter((r) => r.phases?.length && !r.error);
  if (!rows.length) return null;
  const names = [...new Set(rows.flatMap((r) => r.phases!.map(([n]) => n)))];
  const lines = [
    `| ${rows[0]!.mode} scan phases (median s) | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---:').join('|')}|`,
  ];
  for (const r of rows)
    lines.push(
      `| ${r.label} | ${names.map((n) => f2((r.phases!.find(([x]) => x === n)?.[1] ?? NaN) / 1000)).join(' | ')} |`,
    );
  return lines.join('\n');
}

function runAll(ms: Measurement[], work: string, mode: 'warm' | 'cold', reps: number, warmUp = true): Result[] {
  const results = new Map<string, Result>();
  for (const m of ms)
    results.set(m.id, {
      id: m.id,
      label: m.label,
      kind: m.kind,
      mode,
      runs: [],
      median: NaN,
      min: NaN,
      max: NaN,
      rssMB: null,
    });
  const once = (m: Measurement, tag: string, keep: boolean): void => {
    const res = results.get(m.id);
    if (!res || res.error) return;
    const { run, stdout, stderr } = runOnce(m, work, mode === 'cold');
    let err =
      run.code !== 0 ? `exit ${run.code}: ${stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}` : undefined;
    err ??= m.check?.(stdout);
    log(
      `[${mode} ${tag}] ${m.id.padEnd(10)} ${run.wall.toFixed(2).padStart(8)} s  ${run.rssMB === null ? '' : `${run.rssMB.toFixed(0)} MB`}${err ? `  !! ${err}` : ''}`,
    );
    if (err) res.error = err;
    else if (keep) res.runs.push(run);
  };
  if (mode === 'warm' && warmUp) for (const m of ms) once(m, 'warm-up', false);
  for (let r = 1; r <= reps; r++) for (const m of ms) once(m, `${r}/${reps}`, true);
  for (const res of results.values()) {
    if (res.runs.length === 0) continue;
    const w = res.runs.map((x) => x.wall);
    res.median = median(w);
    res.min = Math.min(...w);
    res.max = Math.max(...w);
    const rss = res.runs.map((x) => x.rssMB).filter((x): x is number => x !== null);
    res.rssMB = rss.length ? Math.max(...rss) : null;
    const phases = medianPhases(res.runs);
    if (phases) res.phases = phases;
  }
  return [...results.values()];
}

// ---------------------------------------------------------------------------------------------
// reporting

const f2 = (x: number): string => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : '–');

/** Median wall times with their ratio to the layout-aware floor on `threads` threads and to the generic one. */
function table(results: Result[], threads: number): string {
  const floorIds = [`floor-${threads}`, `floor-generic-${threads}`];
  const floors = floorIds.map((id) => results.find((r) => r.id === id && !r.error)?.median ?? NaN);
  const mode = results[0]?.mode ?? 'warm';
  const lines = [
    `| measurement (${mode}) | median wall s | min | max | × ${floorIds.join(' | × ')} | peak RSS MB |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    if (r.error) {
      lines.push(`| ${r.label} | failed: ${r.error.replace(/\|/g, '\\|')} | | | | | |`);
      continue;
    }
    if (!r.runs.length) continue;
    lines.push(
      `| ${r.label} | ${f2(r.median)} | ${f2(r.min)} | ${f2(r.max)} | ${floors.map((f) => f2(r.median / f)).join(' | ')} | ${r.rssMB === null ? '–' : r.rssMB.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

interface Target {
  name: string;
  value: string;
  pass: boolean | null;
}

/** The measurements of regaudit itself, whose peak RSS the targets bound. */
const RSS_KINDS: ReadonlySet<Measurement['kind']> = new Set(['regaudit', 'query', 'output']);

function targets(warm: Result[], cold: Result[], size: Args['size'], mediumRss: Map<string, number> | null): Target[] {
  const get = (rs: Result[], id: string): Result | undefined =>
    rs.find((r) => r.id === id && !r.error && r.runs.length > 0);
  const t: Target[] = [];
  const scan = get(warm, 'scan');
  const gc = get(warm, 'gc');
  const na = (name: string, why: string): Target => ({ name, value: why, pass: null });
  // Issue 11: pass/fail on the medians of the interleaved runs; the ratio of the fastest runs is shown beside it.
  const ratio = (
    name: string,
    a: Result | undefined,
    b: Result | undefined,
    limit: number,
    why = 'not measured',
  ): Target => {
    if (!a || !b) return na(name, why);
    const med = a.median / b.median;
    return { name, value: `${f2(med)}× (fastest: ${f2(a.min / b.min)}×)`, pass: med <= limit };
  };
  t.push(
    scan && gc
      ? {
          name: 'warm scan ≥ 1.25× faster than GC dry-run',
          value: `GC ÷ scan = ${f2(gc.median / scan.median)} (fastest: ${f2(gc.min / scan.min)})`,
          pass: gc.median >= 1.25 * scan.median,
        }
      : na('warm scan ≥ 1.25× faster than GC dry-run', 'not measured'),
  );
  t.push(ratio('warm scan ≤ 5× layout-aware 2-thread floor', scan, get(warm, 'floor-2'), 5));
  t.push(
    ratio(
      'cold scan ≤ 1.5× layout-aware 8-thread floor',
      get(cold, 'scan'),
      get(cold, 'floor-8'),
      1.5,
      'not measured (run with --cold)',
    ),
  );
  const rssOf = [...warm, ...cold].filter((r) => RSS_KINDS.has(r.kind) && r.rssMB !== null && !r.error);
  const peakOf = (id: string): number => Math.max(...rssOf.filter((r) => r.id === id).map((r) => r.rssMB ?? 0));
  const peak = rssOf.length ? Math.max(...rssOf.map((r) => r.rssMB ?? 0)) : null;
  const peakId = rssOf.find((r) => r.rssMB === peak)?.id;
  t.push(
    peak !== null
      ? { name: 'peak RSS ≤ 256 MB, every command', value: `${peak.toFixed(0)} MB (${peakId})`, pass: peak <= 256 }
      : na('peak RSS ≤ 256 MB, every command', 'not measured'),
  );
  if (size === 'large') {
    // the issue's measure: the peak over every command, large against medium; the worst single command beside it
    const mediumPeak = mediumRss?.size ? Math.max(...mediumRss.values()) : null;
    const worst = [...new Set(rssOf.map((r) => r.id))]
      .filter((id) => mediumRss?.has(id))
      .map((id) => ({ id, ratio: peakOf(id) / mediumRss!.get(id)! }))
      .sort((a, b) => b.ratio - a.ratio)[0];
    t.push(
      peak !== null && mediumPeak !== null
        ? {
            name: 'RSS flat: large ≤ 1.2× medium (peak over all commands)',
            value: `${peak.toFixed(0)} / ${mediumPeak.toFixed(0)} MB = ${f2(peak / mediumPeak)}×${worst ? ` (per command, worst: ${worst.id} ${f2(worst.ratio)}×)` : ''}`,
            pass: peak <= 1.2 * mediumPeak,
          }
        : na('RSS flat: large ≤ 1.2× medium', 'needs a medium run (bench-out/medium-<seed>/results.json)'),
    );
  }
  const rescan = get(warm, 'rescan');
  t.push(ratio('rescan of unchanged tree ≤ 0.25× full scan', rescan, scan, 0.25));
  for (const q of warm.filter((r) => r.kind === 'query')) {
    if (q.error || !q.runs.length) t.push(na(`\`${q.id}\` < 1 s`, 'failed'));
    else t.push({ name: `\`${q.id}\` < 1 s`, value: `${f2(q.median)} s (fastest ${f2(q.min)} s)`, pass: q.median < 1 });
  }
  if (size !== 'large') for (const x of t) if (x.pass !== null) x.name += ` (targets are for large; this is ${size})`;
  return t;
}

// ---------------------------------------------------------------------------------------------

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const sizeName = String(args.size);
  const work = path.join(REPO, 'bench-out', `${sizeName}-${args.seed}`);
  const tree = path.join(work, 'tree');
  mkdirSync(work, { recursive: true });

  if (args.render) {
    const prev = JSON.parse(readFileSync(path.join(work, 'results.json'), 'utf8')) as Rendered;
    report({ ...prev, args: { ...prev.args, out: args.out } }, work, tree);
    return;
  }

  // the tree
  let summary: Summary;
  let genSeconds: number | null = null;
  const genInfo = path.join(work, 'gen.json');
  if (existsSync(path.join(tree, 'summary.json'))) {
    summary = JSON.parse(readFileSync(path.join(tree, 'summary.json'), 'utf8')) as Summary;
    if (existsSync(genInfo)) genSeconds = (JSON.parse(readFileSync(genInfo, 'utf8')) as { seconds: number }).seconds;
    log(`reusing ${path.relative(REPO, tree)} (${summary.files} files)`);
  } else {
    rmSync(tree, { recursive: true, force: true });
    log(`generating ${sizeName} tree (seed ${args.seed}) into ${path.relative(REPO, tree)} ...`);
    const t0 = performance.now();
    summary = generateTree(tree, { size: args.size, seed: args.seed });
    genSeconds = (performance.now() - t0) / 1000;
    writeFileSync(genInfo, JSON.stringify({ seconds: genSeconds }) + '\n');
    log(`generated ${summary.files} files, ${summary.dirs} dirs in ${genSeconds.toFixed(1)} s`);
  }

  // the floor
  const floorBin = path.join(REPO, 'bench-out', 'floor');
  const cc = sh('cc', ['-O2', '-pthread', '-o', floorBin, path.join(REPO, 'scripts', 'floor.c')]);
  if (cc.code !== 0) throw new Error(`cc failed: ${cc.err}`);

  // the CLI
  if (args.build) {
    log(`building a snapshot of the working tree (tsc -p tsconfig.json --outDir ${path.relative(REPO, BUILD)}) ...`);
    rmSync(BUILD, { recursive: true, force: true });
    const b = sh(process.execPath, [
      path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.json',
      '--outDir',
      BUILD,
    ]);
    if (b.code !== 0)
      log(`!! tsc reported errors (measuring what was emitted):\n${b.out.split('\n').slice(0, 10).join('\n')}`);
    // The CLI as `npm run build` ships it: bundled, each command's code loaded when it runs.
    const bundled = sh(process.execPath, [path.join(REPO, 'scripts', 'build-cli.mjs'), '--dist', BUILD]);
    if (bundled.code !== 0) throw new Error(`bundling the CLI failed: ${bundled.err}`);
    // src/version.ts looks for package.json next to the build's src/
    writeFileSync(path.join(BUILD, 'package.json'), readFileSync(path.join(REPO, 'package.json')));
  }
  if (existsSync(path.join(BUILD, 'src', 'cli', 'main.js'))) {
    // with --no-build: the snapshot of the previous run when there is one (e.g. medium then large on the same code)
    CLI = path.join(BUILD, 'src', 'cli', 'main.js');
    FASTGLOB_JS = path.join(BUILD, 'scripts', 'bench-fastglob.js');
  } else log(`!! no snapshot build in ${path.relative(REPO, BUILD)}: measuring ${path.relative(REPO, CLI)}`);
  const cli = existsSync(CLI) ? cliCommands() : new Map<string, string>();

  let ms = measurements(tree, work, floorBin, summary, cli);
  if (args.outputs && cli.size > 0) ms.push(...outputMeasurements(tree, path.join(work, 'bench.db')));
  if (args.only) ms = ms.filter((m) => args.only?.includes(m.id));
  ms = ms.filter((m) => !args.skip.includes(m.id));
  if (!existsSync(TIME)) log(`!! ${TIME} missing (apt-get install -y time): peak RSS is not measured`);

  const info = machine();
  const load0 = os.loadavg();
  const outputs = ms.filter((m) => m.kind === 'output');
  ms = ms.filter((m) => m.kind !== 'output');
  const warm = args.warm ? runAll(ms, work, 'warm', args.reps) : [];
  // One run each, no warm-up: the measure is peak RSS, and on large the table outputs take seconds.
  if (outputs.length) warm.push(...runAll(outputs, work, 'warm', 1, false));
  let cold: Result[] = [];
  let coldNote = '';
  if (args.cold) {
    if (canDropCaches()) cold = runAll(ms, work, 'cold', args.coldReps ?? args.reps);
    else {
      coldNote =
        'COLD-CACHE MEASUREMENTS SKIPPED: cannot write /proc/sys/vm/drop_caches (needs root, not in a restricted container)';
      log(`!!!!!! ${coldNote}`);
    }
  }

  const load1 = os.loadavg();
  info['load average'] =
    `${load0.map((x) => x.toFixed(1)).join(' ')} at start, ${load1.map((x) => x.toFixed(1)).join(' ')} at end (1/5/15 min; other work on the machine inflates and spreads the numbers)`;
  report({ args, machine: info, summary, genSeconds, warm, cold, coldNote }, work, tree);
}

interface Rendered {
  args: Args;
  machine: Record<string, string>;
  summary: Summary;
  genSeconds: number | null;
  warm: Result[];
  cold: Result[];
  coldNote?: string;
}

function report(r: Rendered, work: string, tree: string): void {
  const { args, machine: info, summary, genSeconds, warm, cold } = r;
  const sizeName = String(args.size);
  let mediumRss: Map<string, number> | null = null;
  const mediumResults = path.join(REPO, 'bench-out', `medium-${args.seed}`, 'results.json');
  if (args.size === 'large' && existsSync(mediumResults)) {
    const prev = JSON.parse(readFileSync(mediumResults, 'utf8')) as { warm: Result[]; cold: Result[] };
    mediumRss = new Map();
    for (const x of [...prev.warm, ...prev.cold])
      if (RSS_KINDS.has(x.kind) && x.rssMB !== null && !x.error)
        mediumRss.set(x.id, Math.max(mediumRss.get(x.id) ?? 0, x.rssMB));
  }
  const tg = targets(warm, cold, args.size, mediumRss);

  const md: string[] = [];
  const reps = [
    warm.length ? `${args.reps} warm rep${args.reps > 1 ? 's' : ''}` : '',
    cold.length ? `${args.coldReps ?? args.reps} cold` : '',
  ]
    .filter(Boolean)
    .join(', ');
  md.push(`### ${sizeName} tree, seed ${args.seed}, ${reps} (commit ${info.commit})`);
  md.push('');
  md.push(
    `Tree: ${summary.files.toLocaleString('en')} files, ${summary.dirs.toLocaleString('en')} directories, ` +
      `${summary.repositories} repositories (${summary.repositoriesActive} active, ${summary.repositoriesUntagged} untagged, ${summary.repositoriesEmpty} empty), ` +
      `${summary.tags} tags, ${summary.revisions} revisions, ${summary.layerLinks} layer links, ${summary.blobs} blobs ` +
      `(${(summary.totalBlobBytes / 2 ** 20).toFixed(0)} MiB), ${summary.uploads} uploads` +
      `${genSeconds !== null ? `; generated in ${genSeconds.toFixed(0)} s` : ''}; ${existsSync(tree) ? du(tree) : '?'} on disk.`,
  );
  md.push('');
  const timed = warm.filter((x) => x.kind !== 'output');
  if (timed.length)
    md.push(`Warm cache (one untimed warm-up run each, then ${args.reps} timed):`, '', table(timed, 2), '');
  const outTable = outputTable(warm, mediumRss);
  if (outTable)
    md.push(
      'Commands whose output grows with the tree, on the index of the scan above, stdout to /dev/null (one run each; wall s, peak RSS MB; large ÷ medium RSS when medium was run):',
      '',
      outTable,
      '',
    );
  if (cold.length)
    md.push('Cold cache (`sync; echo 3 > /proc/sys/vm/drop_caches` before every run):', '', table(cold, 8), '');
  for (const rs of [warm, cold]) {
    const pt = phaseTable(rs);
    if (pt) md.push(pt, '');
  }
  if (r.coldNote) md.push(`**${r.coldNote}**`, '');
  md.push(
    'Targets (pass/fail on the medians of the interleaved runs; the fastest runs beside them):',
    '',
    '| target | value | result |',
    '|---|---:|---|',
  );
  for (const x of tg) md.push(`| ${x.name} | ${x.value} | ${x.pass === null ? 'n/a' : x.pass ? 'pass' : '**FAIL**'} |`);
  md.push('');
  const text = md.join('\n');
  const machineMd = ['| | |', '|---|---|', ...Object.entries(info).map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
  console.log(`${machineMd}\n\n${text}`);
  writeFileSync(path.join(work, 'results.md'), `${machineMd}\n\n${text}`);
  writeFileSync(path.join(work, 'results.json'), JSON.stringify({ ...r, targets: tg }, null, 2) + '\n');
  if (args.out) writeFileSync(args.out, `${machineMd}\n\n${text}`);
}

/** Command × format → wall seconds and peak RSS (and large ÷ medium RSS). */
function outputTable(results: readonly Result[], mediumRss: Map<string, number> | null): string | null {
  const byId = new Map(results.filter((r) => r.kind === 'output').map((r) => [r.id, r]));
  if (byId.size === 0) return null;
  const ratio = mediumRss !== null;
  const md = [
    `| command | ${OUTPUT_FORMATS.map((f) => `${f} s | ${f} MB${ratio ? ` | ${f} ÷ medium` : ''}`).join(' | ')} |`,
    `|---|${OUTPUT_FORMATS.map(() => `---:|---:${ratio ? '|---:' : ''}`).join('|')}|`,
  ];
  for (const c of OUTPUT_COMMANDS) {
    const cells = OUTPUT_FORMATS.map((f) => {
      const id = `out-${c.id}-${f}`;
      const r = byId.get(id);
      const cell = !r
        ? ['–', '–']
        : r.error
          ? ['failed', '–']
          : [f2(r.median), r.rssMB === null ? '–' : r.rssMB.toFixed(0)];
      if (ratio) {
        const m = mediumRss.get(id);
        cell.push(r && !r.error && r.rssMB !== null && m ? `${f2(r.rssMB / m)}×` : '–');
      }
      return cell.join(' | ');
    });
    md.push(`| \`${c.argv.join(' ')}\` | ${cells.join(' | ')} |`);
  }
  return md.join('\n');
}

function du(p: string): string {
  const r = sh('du', ['-sh', p]);
  return r.code === 0 ? (r.out.split(/\s+/)[0] ?? '?') : '?';
}

try {
  // --s3: the object-storage benchmark (scripts/bench-s3.ts), a run of its own.
  if (process.argv.includes('--s3')) await (await import('./bench-s3.js')).benchS3(process.argv.slice(2));
  else main();
} catch (e: unknown) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
