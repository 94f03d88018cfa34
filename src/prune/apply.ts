/**
 * Applying a prune plan: the only code that changes storage.
 *
 * Per repository: re-read it from disk and compare with the scan (changed-since-scan), then rename
 * its parts into <repo>/_regaudit_trash (a `_` directory, which both catalogs and GC skip; each
 * rename is atomic, _manifests first), remove that directory, and rmdir the parents left empty up
 * to repositories/. A kill at any point leaves either the repository as it was, or an unlisted
 * trash directory that the next prune (which reports it as pending-deletion) removes.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { repositoryState } from '../audit/state.js';
import { StorageError, describeFsError, errnoCode } from '../errors.js';
import { REPOSITORIES } from '../layout/paths.js';
import { rereadRepository } from '../scan/read-repository.js';
import { TRASH_DIR } from '../scan/walk.js';
import type { RepositorySnapshot } from '../scan/records.js';
import { realFs, type MutatingFs } from './fsops.js';
import { applyOrder, type PlannedCleanup, type PlannedRepository, type PrunePlan } from './plan.js';

/** Order of removal: the 3.x marker, then the 2.x marker, then uploads. */
const PART_ORDER = ['_manifests', '_layers', '_uploads'] as const;

export interface AppliedRepository extends PlannedRepository {
  /** True when its parts were removed by this run. */
  deleted: boolean;
}

export interface ApplyResult {
  repositories: AppliedRepository[];
  cleanup: Array<PlannedCleanup & { done: boolean }>;
}

export interface ApplyOptions {
  v2: string;
  fs?: MutatingFs;
  /** Called after each repository is handled (journal, progress). */
  onRepository?: (r: AppliedRepository) => void;
}

function countsFromSnapshot(s: RepositorySnapshot): { tagLinks: number; revisions: number } {
  let tagLinks = 0;
  let revisions = 0;
  for (const l of s.links) {
    if (l.kind === 'tag-current') tagLinks++;
    else if (l.kind === 'revision') revisions++;
  }
  return { tagLinks, revisions };
}

/** Every directory from repositories/ down to `rel` must be a real directory, not a symlink. */
function assertPlainPath(v2: string, rel: string): string {
  if (rel.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new StorageError(`refusing unsafe path ${rel}`);
  let abs = `${v2}/${REPOSITORIES}`;
  for (const seg of rel.split('/')) {
    abs = `${abs}/${seg}`;
    const st = lstatSync(abs);
    if (!st.isDirectory()) throw new StorageError(`${abs}: not a plain directory (${st.isSymbolicLink() ? 'symbolic link' : 'file'})`);
  }
  return abs;
}

/** rmdir upwards while empty, stopping below repositories/. */
function removeEmptyParents(v2: string, absDir: string, fs: MutatingFs): void {
  const stop = `${v2}/${REPOSITORIES}`;
  let dir = absDir;
  while (dir.startsWith(`${stop}/`)) {
    try {
      fs.rmdir(dir);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return;
      throw err;
    }
    dir = path.posix.dirname(dir);
  }
}

function deleteRepository(v2: string, entry: PlannedRepository, fs: MutatingFs): AppliedRepository {
  const out: AppliedRepository = { ...entry, deleted: false };
  const skip = (detail: string): AppliedRepository => ({ ...out, action: 'skip', reason: 'changed-since-scan', detail });
  let abs: string;
  try {
    abs = assertPlainPath(v2, entry.name);
  } catch (err) {
    return skip(err instanceof StorageError ? err.message : describeFsError(err));
  }
  const now = rereadRepository(abs, entry.name);
  if (now.problem !== null) return skip(`re-read failed: ${now.problem}`);
  const counts = countsFromSnapshot(now);
  if (repositoryState({ liveTags: 0, ...counts }) !== 'empty') return skip('it has tags or revisions now');
  if (now.entries !== entry.expect.entries || now.newestMtimeMs !== entry.expect.newestMtimeMs) {
    return skip(`its contents changed (entries ${entry.expect.entries} → ${now.entries})`);
  }
  const trash = `${abs}/${TRASH_DIR}`;
  try {
    fs.mkdir(trash);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  for (const part of PART_ORDER) {
    try {
      fs.rename(`${abs}/${part}`, `${trash}/${part}`);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      // A leftover of the same name in the trash from an interrupted run: clear it and retry once.
      if (errnoCode(err) === 'ENOTEMPTY' || errnoCode(err) === 'EEXIST') {
        fs.rmTree(`${trash}/${part}`);
        fs.rename(`${abs}/${part}`, `${trash}/${part}`);
      } else throw err;
    }
  }
  fs.rmTree(trash);
  removeEmptyParents(v2, abs, fs);
  return { ...out, deleted: true };
}

function finishCleanup(v2: string, c: PlannedCleanup, fs: MutatingFs): PlannedCleanup & { done: boolean } {
  const abs = `${v2}/${c.path}`;
  try {
    const st = lstatSync(abs);
    if (!st.isDirectory()) return { ...c, done: false };
    if (c.reason === 'pending-deletion') {
      if (path.posix.basename(abs) !== TRASH_DIR) return { ...c, done: false };
      fs.rmTree(abs);
      removeEmptyParents(v2, path.posix.dirname(abs), fs);
    } else {
      removeEmptyParents(v2, abs, fs);
    }
    return { ...c, done: true };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { ...c, done: true };
    throw err;
  }
}

/** Carries out a plan. Throws StorageError on a filesystem failure, after which a rerun resumes. */
export function applyPlan(plan: PrunePlan, opts: ApplyOptions): ApplyResult {
  const fs = opts.fs ?? realFs;
  const byName = new Map(plan.repositories.map((r) => [r.name, r]));
  const results = new Map<string, AppliedRepository>();
  for (const name of applyOrder(plan.repositories.filter((r) => r.action === 'delete').map((r) => r.name))) {
    let res: AppliedRepository;
    try {
      res = deleteRepository(opts.v2, byName.get(name)!, fs);
    } catch (err) {
      throw new StorageError(`${opts.v2}/${REPOSITORIES}/${name}: ${describeFsError(err)} (prune stopped; rerun it to finish)`);
    }
    results.set(name, res);
    opts.onRepository?.(res);
  }
  const repositories = plan.repositories.map((r) => results.get(r.name) ?? { ...r, deleted: false });
  const cleanup = plan.cleanup
    .filter((c) => c.action === 'remove')
    .map((c) => {
      try {
        return finishCleanup(opts.v2, c, fs);
      } catch (err) {
        throw new StorageError(`${opts.v2}/${c.path}: ${describeFsError(err)}`);
      }
    });
  return { repositories, cleanup };
}
