/**
 * Carrying out a gc plan (I/O; the plan itself is pure, in plan.ts). Every change goes through
 * prune's MutatingFs seam, so the crash tests can stop it before any call.
 *
 * Before anything changes, every repository is compared with the scan through its stamp (guard.ts:
 * one lstat per path the scanner relied on); a repository that changed, appeared or vanished since
 * stops the whole run, nothing deleted. Then the items go in the plan's order: untagged manifests,
 * layer links, uploads, empty repositories, and last the blobs, after a second check of every
 * repository (the same paths again, but for what the run removed; a repository that differs is read
 * again): a blob any link names now stays. Each item is checked just before it goes (plain
 * directories all the way down, no symbolic link, same mtime and size as the scan saw; an upload's
 * tree, an empty repository's stamp).
 *
 * Deleting removes an item's files bottom-up, the one file that makes it exist first (the `link`,
 * the blob's `data`): a kill leaves it whole or gone, plus at most empty directories, which the
 * registry reads as absent and the next gc removes. Quarantining renames the item's directory into
 * the batch (across filesystems: copy, verify, then remove), where restore finds it.
 */
import { StorageError, describeFsError, errnoCode } from '../errors.js';
import type { GcGuardRepositories, GcGuardRepository } from '../index/gc-guard.js';
import { REPOSITORIES, REPOSITORY_PARTS } from '../layout/paths.js';
import { removeTree, type MutatingFs } from '../prune/fsops.js';
import { removeEmptyDirs } from '../prune/tree.js';
import type { StorageReader } from '../storage/driver.js';
import type { GcBatch } from './batch.js';
import { newestUnder, ScanGuard } from './guard.js';
import { REPOSITORY_PART_ORDER, type GcItem, type GcPlan } from './plan.js';

/** What the bucket applier compares with the scan (src/reclaim/bucket.ts). */
export type ScannedRepository = Pick<GcGuardRepository, 'name' | 'entries' | 'newestMtimeMs'>;

export type GcOutcome = 'deleted' | 'quarantined' | 'skipped';

export interface GcItemResult {
  path: string;
  kind: GcItem['kind'];
  outcome: GcOutcome;
  /** Why it was skipped. */
  detail?: string;
  bytes: number;
}

export interface GcApplyResult {
  items: GcItemResult[];
  /** Bytes of the blobs and uploads that left storage. */
  bytesFreed: number;
}

export interface GcApplyOptions {
  v2: string;
  fs: MutatingFs;
  /** The repositories the scan saw, with what the re-checks must find again (read one at a time). */
  scanned: GcGuardRepositories;
  batch?: GcBatch;
  onItem?: (r: GcItemResult) => void;
}

/**
 * Every repository directory under repositories/ (a directory holding a `_layers`, `_manifests` or
 * `_uploads`), as the registry's catalog walk finds them: `_` entries are not descended into,
 * symbolic links are not followed. An unreadable directory throws (the caller refuses).
 */
export function listRepositories(storage: StorageReader, v2: string): string[] {
  const out: string[] = [];
  const parts = new Set<string>(REPOSITORY_PARTS);
  const walk = (abs: string, name: string): void => {
    let isRepo = false;
    for (const e of storage.list(abs)) {
      if (e.type !== 'dir') continue;
      if (parts.has(e.name)) isRepo = true;
      else if (!e.name.startsWith('_')) walk(`${abs}/${e.name}`, name === '' ? e.name : `${name}/${e.name}`);
    }
    if (isRepo && name !== '') out.push(name);
  };
  walk(`${v2}/${REPOSITORIES}`, '');
  return out.sort();
}

/** Every directory from docker/registry/v2 down to `rel` is a real directory; returns why not, or null. */
function notPlain(storage: StorageReader, v2: string, rel: string): string | null {
  if (rel.split('/').some((s) => s === '' || s === '.' || s === '..')) return `unsafe path ${rel}`;
  let abs = v2;
  for (const seg of rel.split('/')) {
    abs = `${abs}/${seg}`;
    let st;
    try {
      st = storage.lstat(abs);
    } catch (err) {
      return errnoCode(err) === 'ENOENT' ? 'gone' : `${abs}: ${describeFsError(err)}`;
    }
    if (st.type !== 'dir') return `${abs} is ${st.type === 'symlink' ? 'a symbolic link' : 'not a directory'}`;
  }
  return null;
}

/** The one file that makes the item exist (its `link`, a blob's `data`), with its size and mtime as the scan measured them. */
function fileCheck(storage: StorageReader, abs: string, item: GcItem): string | null {
  let st;
  try {
    st = storage.lstat(abs);
  } catch (err) {
    return `${abs}: ${describeFsError(err)}`;
  }
  if (st.type !== 'file') return `${abs} is not a regular file`;
  if (Math.trunc(st.mtimeMs) !== item.expect.mtimeMs) return `${abs} was modified since the scan`;
  if (item.expect.size !== undefined && st.size !== item.expect.size) return `${abs} changed size since the scan`;
  return null;
}

/** A blob directory without data: still empty, and older than --min-age (a push creates it just before it moves data in). */
function emptyDirCheck(storage: StorageReader, abs: string, item: GcItem): string | null {
  try {
    if (storage.list(abs).length > 0) return 'it holds files now';
    if (storage.lstat(abs).mtimeMs > item.expect.olderThanMs!) return 'newer than --min-age';
  } catch (err) {
    return `${abs}: ${describeFsError(err)}`;
  }
  return null;
}

/** Why the item must stay, checked just before it goes; null when it may go. */
function recheck(
  storage: StorageReader,
  v2: string,
  item: GcItem,
  guard: ScanGuard,
  named: ReadonlySet<string> | null,
): string | null {
  const bad = notPlain(storage, v2, item.path);
  if (bad !== null) return bad;
  const abs = `${v2}/${item.path}`;
  switch (item.kind) {
    case 'manifest':
    case 'layer-link':
      return fileCheck(storage, `${abs}/link`, item);
    case 'blob':
      if (named?.has(item.digest!)) return 'a repository links it now';
      if (item.reason === 'empty-directory') return emptyDirCheck(storage, abs, item);
      return fileCheck(storage, `${abs}/data`, item);
    case 'upload': {
      const newest = newestUnder(storage, abs);
      if (newest === null) return 'gone';
      return newest !== item.expect.mtimeMs ? 'written to since the scan' : null;
    }
    case 'repository':
      // Unchanged since the scan, which found it empty (no tag, no revision).
      return guard.repositoryChanged(item.repository!) === null ? null : 'its contents changed';
  }
}

function removeItem(o: GcApplyOptions, item: GcItem): GcOutcome {
  const abs = `${o.v2}/${item.path}`;
  if (item.kind !== 'repository') {
    if (o.batch) o.batch.take(item.path);
    else removeTree(o.fs, abs);
    return o.batch ? 'quarantined' : 'deleted';
  }
  // The 3.x catalog marker first, then the 2.x marker, as prune does.
  for (const part of REPOSITORY_PART_ORDER) {
    const rel = `${item.path}/${part}`;
    try {
      o.fs.lstat(`${o.v2}/${rel}`);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      throw err;
    }
    if (o.batch) o.batch.take(rel);
    else removeTree(o.fs, `${o.v2}/${rel}`);
  }
  // Deleting also removes the directories left empty; a quarantined repository keeps them, so restore is exact.
  if (!o.batch) removeEmptyDirs(o.fs, abs, `${o.v2}/${REPOSITORIES}`);
  return o.batch ? 'quarantined' : 'deleted';
}

/** Carries out the plan. Throws StorageError when the storage changed since the scan (nothing removed) or on a filesystem failure (a rerun finishes). */
export function applyGc(plan: GcPlan, o: GcApplyOptions): GcApplyResult {
  if (plan.blocked.length > 0) {
    const b = plan.blocked[0]!;
    throw new StorageError(
      `refusing to collect: part of the storage could not be read (${b.where}: ${b.why}${plan.blocked.length > 1 ? `, and ${plan.blocked.length - 1} more` : ''}); it may reference any blob`,
    );
  }
  // The repositories this run may remove links or uploads from, and the blobs it may remove: the
  // second check keeps per-path stats of the first only for those, and looks up only these digests.
  const touched = new Set<string>();
  const wanted = new Set<string>();
  for (const i of plan.items)
    if (i.kind === 'blob') wanted.add(i.digest!);
    else if (i.kind !== 'repository' && i.repository !== undefined) touched.add(i.repository);
  const guard = new ScanGuard(o.fs, o.v2, o.scanned, touched);
  const changed = guard.changedSinceScan(listRepositories(o.fs, o.v2));
  if (changed !== null)
    throw new StorageError(
      `refusing to collect: the storage changed since the scan (${changed}); scan again and review the plan`,
    );
  const items: GcItemResult[] = [];
  const done: GcItem[] = [];
  let bytesFreed = 0;
  let named: Set<string> | null = null;
  for (const item of plan.items) {
    if (item.kind === 'blob' && named === null) {
      // Just before the first blob goes: what does every repository link now?
      const now = guard.namedNow(listRepositories(o.fs, o.v2), done, wanted);
      if (now.problem !== null)
        throw new StorageError(
          `refusing to delete blobs: ${now.problem} (the links before it are done; rerun after fixing it)`,
        );
      named = now.named;
    }
    const detail = recheck(o.fs, o.v2, item, guard, named);
    let res: GcItemResult;
    if (detail !== null) res = { path: item.path, kind: item.kind, outcome: 'skipped', detail, bytes: 0 };
    else {
      try {
        res = { path: item.path, kind: item.kind, outcome: removeItem(o, item), bytes: item.bytes };
      } catch (err) {
        if (err instanceof StorageError) throw err;
        throw new StorageError(
          `${o.v2}/${item.path}: ${describeFsError(err)} (gc stopped; every step it took is complete, rerun it to finish)`,
        );
      }
      bytesFreed += item.bytes;
      done.push(item);
    }
    items.push(res);
    o.onItem?.(res);
  }
  return { items, bytesFreed };
}
