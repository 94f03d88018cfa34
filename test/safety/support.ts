/**
 * Shared pieces of the safety tests: synthetic storage trees written from a path list, exact
 * snapshots (nanosecond mtimes, owners, modes, content hashes), the built CLI run normally, as an
 * unprivileged user or in the background, and root-only mounts (tmpfs, read-only binds).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before } from 'node:test';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  utimesSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliPath, runArgs, runCli, type CliResult } from '../helpers/cli.js';

export { spawnCli } from '../helpers/cli.js';
import type { PruneJson } from '../helpers/json.js';
import type { Digest } from '../../src/layout/digest.js';
import { STORAGE_PREFIX, pathFor } from '../../src/layout/paths.js';
import { StorageTree } from '../helpers/tree.js';
import { deleteTag, pushImage, type Registry } from '../helpers/registry.js';
import { assertServes } from '../helpers/scenario.js';

export const V2 = STORAGE_PREFIX;

/** 64 hex characters derived from `seed`. */
export function hex(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** Link file content for the digest of `seed`. */
export const linkTo = (seed: string): string => `sha256:${hex(seed)}`;

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `regaudit-${prefix}-`));
}

/** A temporary directory in memory (/dev/shm) when there is one: for tests that write and remove many trees. */
export function memTempDir(prefix: string): string {
  try {
    return mkdtempSync(path.join('/dev/shm', `regaudit-${prefix}-`));
  } catch {
    return tempDir(prefix);
  }
}

/** A temporary directory for the enclosing describe(): made before its tests (mode 0755), removed after. */
export function workDir(prefix: string): () => string {
  let dir = '';
  before(() => {
    dir = tempDir(prefix);
    chmodSync(dir, 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

export type { PruneJson };

/** A dry-run prune with --min-age and --upload-age 0s, `extra` appended. */
export const pruneArgs = (root: string, db: string, ...extra: string[]): string[] =>
  runArgs('prune', root, db, { extra });

/** Names of the repositories a prune removed, sorted. */
export const deletedBy = (p: PruneJson): string[] =>
  p.repositories
    .filter((r) => r.deleted)
    .map((r) => r.name)
    .sort();

/**
 * Writes `entries` (paths relative to docker/registry/v2; a trailing `/` makes a directory, else
 * the value is the file content) under `root`, then dates every entry `ageDays` days back so the
 * default --min-age does not hold anything.
 */
export function writeStorage(root: string, entries: Record<string, string | Buffer | null>, ageDays = 30): string {
  const tree = new StorageTree(root);
  for (const [rel, content] of Object.entries(entries)) {
    if (rel.endsWith('/')) tree.dir(rel);
    else tree.file(rel, content ?? '');
  }
  const v2 = tree.v2;
  // every entry written and every directory above it, deepest first (no walk: the list is known)
  const s = (Date.now() - ageDays * 86_400_000) / 1000;
  for (const rel of storagePaths(entries).sort((a, b) => b.split('/').length - a.split('/').length))
    utimesSync(path.join(v2, rel), s, s);
  utimesSync(v2, s, s);
  return v2;
}

/** The paths `writeStorage(entries)` creates, relative to docker/registry/v2 (directories without a trailing `/`). */
export function storagePaths(entries: Record<string, unknown>): string[] {
  const out = new Set<string>(['repositories', 'blobs']);
  for (const rel of Object.keys(entries)) {
    const segs = rel.replace(/\/$/, '').split('/');
    for (let i = 1; i <= segs.length; i++) out.add(segs.slice(0, i).join('/'));
  }
  return [...out];
}

/** Sets every entry's times to `ms` (files first, then directories bottom-up), symlinks excluded. */
export function ageTree(abs: string, ms: number): void {
  const st = lstatSync(abs);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) for (const e of readdirSync(abs)) ageTree(path.join(abs, e), ms);
  utimesSync(abs, ms / 1000, ms / 1000);
}

/** An empty repository in the shape API delete + GC leave: layer links, empty revision dir, empty tags. */
export function emptyRepo(name: string, seed = name): Record<string, string | null> {
  const gone = linkTo(`${seed} gone`) as Digest;
  return {
    [pathFor({ kind: 'layerLink', repo: name, digest: linkTo(`${seed} layer`) as Digest })]: linkTo(`${seed} layer`),
    [`${path.posix.dirname(pathFor({ kind: 'revisionLink', repo: name, digest: gone }))}/`]: null,
    [`${pathFor({ kind: 'tagsDir', repo: name })}/`]: null,
    [`${pathFor({ kind: 'repositoryPart', repo: name, part: '_uploads' })}/`]: null,
  };
}

/** A live repository: tag → revision → blob. */
export function liveRepo(name: string, seed = name): Record<string, string | null> {
  const m = linkTo(`${seed} manifest`) as Digest;
  const repo = name;
  return {
    [pathFor({ kind: 'layerLink', repo, digest: linkTo(`${seed} layer`) as Digest })]: linkTo(`${seed} layer`),
    [pathFor({ kind: 'revisionLink', repo, digest: m })]: m,
    [pathFor({ kind: 'tagCurrentLink', repo, tag: 'latest' })]: m,
    [pathFor({ kind: 'tagIndexLink', repo, tag: 'latest', digest: m })]: m,
    [pathFor({ kind: 'blobData', digest: m })]: '{"schemaVersion":2}',
  };
}

/**
 * Every entry below `abs` with type, mode, owner, nanosecond mtime and (files) a content hash or
 * (symlinks) the target. Keys are relative paths, directories end with `/`.
 */
export function snapshot(abs: string, opts: { mtimes?: boolean } = {}): Map<string, string> {
  const withTimes = opts.mtimes ?? true;
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    const p = rel ? path.join(abs, rel) : abs;
    let st;
    try {
      st = lstatSync(p, { bigint: true });
    } catch {
      return;
    }
    const head = `mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid}${withTimes ? ` mtime=${st.mtimeNs}` : ''}`;
    if (st.isDirectory()) {
      out.set(`${rel}/`, `dir ${head}`);
      for (const e of readdirSync(p).sort()) walk(rel ? `${rel}/${e}` : e);
    } else if (st.isSymbolicLink()) out.set(rel, `symlink -> ${readlinkSync(p)}`);
    else if (st.isFile())
      out.set(rel, `file ${head} sha256=${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    else out.set(rel, `other ${head}`);
  };
  walk('');
  return out;
}

/** The parts of storage the registry reads: repositories/ and blobs/ (the v2 directory itself holds regaudit's lock). */
export function storageSnapshot(root: string, opts: { mtimes?: boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  for (const area of ['repositories', 'blobs']) {
    for (const [k, v] of snapshot(path.join(root, V2, area), opts))
      out.set(`${area}${k.startsWith('/') ? '' : '/'}${k}`, v);
  }
  return out;
}

/** Differences between snapshots, one line each (empty: identical). */
export function snapshotDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const d: string[] = [];
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined) d.push(`- ${k}`);
    else if (w !== v) d.push(`~ ${k}: ${v} -> ${w}`);
  }
  for (const k of b.keys()) if (!a.has(k)) d.push(`+ ${k}`);
  return d;
}

export function assertSameSnapshot(a: Map<string, string>, b: Map<string, string>, what: string): void {
  const d = snapshotDiff(a, b);
  assert.deepEqual(d.slice(0, 20), [], `${what}: ${d.length} differences`);
}

/** Copies a tree exactly (modes, owners, nanosecond times) with GNU cp -a. */
export function copyTree(from: string, to: string): void {
  const r = spawnSync('cp', ['-a', '--no-target-directory', from, to], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cp -a ${from} ${to}: ${r.stderr}`);
}

/**
 * The crash suites' first pushes: keep (v1 deleted, v2 live) and lib (an OCI image, its only tag
 * deleted), sharing a base layer with each other and with what the suite pushes next.
 */
export async function pushKeepAndLib(reg: Registry): Promise<void> {
  await pushImage(reg, 'keep', 'v1', { layers: ['shared base', 'keep 1'] });
  await pushImage(reg, 'keep', 'v2', { layers: ['shared base', 'keep 2'] });
  await deleteTag(reg, 'keep', 'v1');
  await pushImage(reg, 'lib', 'v1', { layers: ['shared base', 'lib 1'] }, { format: 'oci' });
  await deleteTag(reg, 'lib', 'v1');
}

/**
 * The crash suites' registry check at sampled kill points: at every kill point n with
 * n % every === at, the registry is started on a copy of the interrupted storage and must list
 * every repository of `tags` and pull every tag (assertServes).
 */
export class ServedAtKillPoints {
  readonly sampled: number[] = [];
  constructor(
    private readonly tags: Array<[string, string]>,
    private readonly every: number,
    private readonly at: number,
  ) {}

  async check(n: number, root: string): Promise<void> {
    if (n % this.every !== this.at) return;
    this.sampled.push(n);
    copyTree(root, `${root}-served`);
    await assertServes(`${root}-served`, this.tags, `kill point ${n}`);
  }

  /** Requires at least `min` kill points and the registry started at two or more; returns the line to print. */
  covered(label: string, kills: number, min: number): string {
    assert.ok(kills >= min, `only ${kills} kill points`);
    assert.ok(this.sampled.length >= 2, 'the registry was started on interrupted storage');
    return `${label}: ${kills} kill points, registry checked at ${this.sampled.join(', ')}`;
  }
}

export function explain(r: CliResult, args: string[]): string {
  return `regaudit ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
}

/** Runs the CLI and requires exit 0 and JSON on stdout. */
/** Runs the CLI, requires exit `code` (23: a partial result, part of the storage unreadable) and parses stdout. */
export function cliJson<T = any>(args: string[], env: NodeJS.ProcessEnv = {}, code = 0): T {
  const r = runCli(args, { env });
  assert.equal(r.code, code, explain(r, args));
  return JSON.parse(r.stdout) as T;
}

/** Runs the CLI and requires the one-line error contract: exit 2, a single "regaudit: …" line matching `re`, no stack. */
export function cliFails(
  args: string[],
  re: RegExp,
  opts: { env?: NodeJS.ProcessEnv; run?: (args: string[]) => CliResult } = {},
): CliResult {
  const r = (opts.run ?? ((a) => runCli(a, { env: opts.env ?? {} })))(args);
  assert.equal(r.code, 2, explain(r, args));
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one stderr line expected:\n${r.stderr}`);
  assert.match(lines[0]!, /^regaudit: /);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  assert.match(lines[0]!, re);
  return r;
}

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups', '--'];
let nobodyCli: string | undefined;

/**
 * A CLI path uid 65534 can reach. The checkout may sit under a directory only root may enter
 * (`mktemp -d` makes them 0700); then the built CLI and its modules are copied once into a 0755
 * temporary directory, removed when the test process exits.
 */
function cliForNobody(): string {
  if (nobodyCli !== undefined) return nobodyCli;
  if (spawnSync('setpriv', [...NOBODY, 'test', '-r', cliPath]).status === 0) return (nobodyCli = cliPath);
  const repo = path.resolve(path.dirname(cliPath), '..', '..', '..');
  const copy = mkdtempSync(path.join(os.tmpdir(), 'regaudit-nobody-'));
  chmodSync(copy, 0o755);
  for (const part of ['package.json', 'dist', 'node_modules']) run('cp', ['-a', path.join(repo, part), copy]);
  process.on('exit', () => rmSync(copy, { recursive: true, force: true }));
  return (nobodyCli = path.join(copy, path.relative(repo, cliPath)));
}

/** The CLI as uid/gid 65534 (nobody), so permissions bite even though the tests run as root. */
export function runCliAsNobody(args: string[]): CliResult {
  const r = spawnSync('setpriv', [...NOBODY, process.execPath, cliForNobody(), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// ---------------------------------------------------------------------------------------------------------
// root-only: mounts and unprivileged users

/**
 * The tests that need root (mounts, setpriv) run as root in CI. Anywhere else without root they
 * are skipped loudly; with CI set, a missing capability is a failure, never a silent skip.
 */
export function requireRoot(what: string): { skip: false } | { skip: string } {
  const probe = tempDir('mount-probe');
  try {
    const ok =
      process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
    if (ok) spawnSync('umount', [probe]);
    if (ok && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status === 0)
      return { skip: false };
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  const reason = `${what} needs root with mount(8) and setpriv(1); SKIPPING`;
  if (process.env.CI) throw new Error(`CI is set but ${reason.replace('; SKIPPING', '')}`);
  process.stderr.write(`\n*** ${reason} ***\n`);
  return { skip: reason };
}

function run(bin: string, args: string[]): void {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${bin} ${args.join(' ')}: ${r.stderr}`);
}

/** Mounts a fresh tmpfs of `sizeKiB` at `dir`; returns the unmount function. */
export function mountTmpfs(dir: string, sizeKiB: number): () => void {
  mkdirSync(dir, { recursive: true });
  run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755`, 'tmpfs', dir]);
  return () => run('umount', [dir]);
}

/** Makes `dir` read-only in place (a read-only bind of itself); returns the undo function. */
export function bindReadOnly(dir: string): () => void {
  run('mount', ['--bind', dir, dir]);
  run('mount', ['-o', 'remount,bind,ro', dir]);
  return () => run('umount', [dir]);
}

/** chown -R 65534:65534 */
export function giveToNobody(abs: string): void {
  run('chown', ['-R', '65534:65534', abs]);
}
