/**
 * Read-only helpers over directory trees: exact comparison (copy verification, resumed quarantine)
 * and creating a directory chain through the mutating seam.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, constants } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import { lazyModule } from '../lazy-module.js';
import type { StorageReader, StorageWriter } from '../storage/driver.js';

const fastGlob = lazyModule<typeof import('fast-glob')>('fast-glob');
const NOFOLLOW = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);
const chunk = Buffer.allocUnsafe(1024 * 1024);

function fileHash(abs: string): string {
  const h = createHash('sha256');
  const fd = openSync(abs, NOFOLLOW);
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      h.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** One line per entry: type, mode, owner, nanosecond mtime, and size + content hash or link target. */
function describe(abs: string): string {
  const st = lstatSync(abs, { bigint: true });
  const head = `mode=${st.mode} uid=${st.uid} gid=${st.gid} mtime=${st.mtimeNs}`;
  if (st.isDirectory()) return `dir ${head}`;
  if (st.isSymbolicLink()) return `symlink ${head} -> ${readlinkSync(abs)}`;
  if (st.isFile()) return `file ${head} size=${st.size} sha256=${fileHash(abs)}`;
  return `other ${head}`;
}

/**
 * Every entry below `abs` (itself as ""), described, in path order; `cp -a` keeps all of it, so a
 * good copy compares equal. A generic walk, the kind fast-glob serves: every entry, dot files
 * included, symbolic links listed and never followed, any read error thrown.
 */
export function describeTree(abs: string): Map<string, string> {
  const out = new Map<string, string>([['', describe(abs)]]);
  if (!out.get('')!.startsWith('dir ')) return out;
  const rels = fastGlob().sync('**', {
    cwd: abs,
    dot: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    suppressErrors: false,
  });
  for (const rel of rels.sort()) out.set(rel, describe(`${abs}/${rel}`));
  return out;
}

/** null when the two trees hold the same entries with the same attributes and bytes; else the first difference. */
export function treeDifference(a: string, b: string): string | null {
  const ta = describeTree(a);
  const tb = describeTree(b);
  for (const [k, v] of ta) {
    const w = tb.get(k);
    if (w === undefined) return `${k || '.'} missing from the copy`;
    if (w !== v) return `${k || '.'} differs (${v} / ${w})`;
  }
  for (const k of tb.keys()) if (!ta.has(k)) return `${k} only in the copy`;
  return null;
}

export function exists(storage: StorageReader, abs: string): boolean {
  try {
    storage.lstat(abs);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** mkdir -p through the seam; returns the directories it created, shallowest first. */
export function ensureDir(mfs: StorageReader & StorageWriter, abs: string): string[] {
  const missing: string[] = [];
  let dir = abs;
  while (!exists(mfs, dir)) {
    missing.unshift(dir);
    const up = path.posix.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of missing) {
    try {
      mfs.mkdir(d);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
  }
  return missing;
}

/**
 * rmdir `dir`, then its parents, while they are empty, stopping below `stop` (never removed).
 * Ends quietly at a directory that is not empty or already gone, or that `alsoStopOn` accepts.
 */
export function removeEmptyDirs(
  mfs: StorageWriter,
  dir: string,
  stop: string,
  alsoStopOn: (err: unknown) => boolean = () => false,
): void {
  let d = dir;
  while (d.startsWith(`${stop}/`)) {
    try {
      mfs.removeEmptyDir(d);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT' || alsoStopOn(err)) return;
      throw err;
    }
    d = path.posix.dirname(d);
  }
}

/**
 * The newest batch in `dir` whose journal `read` parses and `accept` takes (dot entries, being
 * created or purged, are left out): the batch a rerun resumes.
 */
export function newestBatch<J extends { createdAt: string }>(
  dir: string,
  read: (batchDir: string) => J,
  accept: (j: J) => boolean,
): { name: string; journal: J } | null {
  let best: { name: string; journal: J } | null = null;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    let j: J;
    try {
      j = read(path.join(dir, name));
    } catch {
      continue;
    }
    if (accept(j) && (!best || j.createdAt > best.journal.createdAt)) best = { name, journal: j };
  }
  return best;
}
