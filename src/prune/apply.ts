/**
 * Applying a prune plan: the only code that removes anything from storage.
 *
 * Per repository: re-read it from disk and compare with the scan (changed-since-scan), then take
 * its parts away one atomic rename at a time, _manifests first (the 3.x catalog marker), then
 * _layers (the 2.x marker), then _uploads:
 *   - delete: rename each part into <repo>/_regaudit_trash (a `_` directory, which both catalogs
 *     and GC skip), remove that directory, rmdir the parents left empty up to repositories/;
 *   - quarantine: rename each part into DIR/<batch>/repositories/<repo>/ instead; across
 *     filesystems, copy it there, verify the copy, and only then rename the original into the
 *     trash and remove it.
 * A kill at any point leaves the repository as it was, or with some parts gone (it was empty:
 * nothing the registry serves changes), or an unlisted trash directory the next prune (which
 * reports it as pending-deletion) finishes; a quarantine rerun resumes the same batch.
 */
import path from 'node:path';
import { repositoryState } from '../audit/state.js';
import { StorageError, describeFsError, errnoCode } from '../errors.js';
import {
  REPOSITORIES,
  REPOSITORY_PARTS,
  TRASH_DIR,
  repoPathFor,
  type RepoPathSpec,
  type RepositoryPart,
} from '../layout/paths.js';
import { rereadRepository } from '../scan/read-repository.js';
import type { RepositorySnapshot } from '../index/records.js';
import type { StorageReader } from '../storage/driver.js';
import { realFs, removeTree, type MutatingFs } from './fsops.js';
import type { AppliedCleanup, AppliedRepository, ApplyResult, ApplySkipReason } from './outcome.js';
import { applyOrder, type PlannedCleanup, type PlannedRepository, type PrunePlan } from './plan.js';
import type { QuarantineBatch } from './quarantine.js';
import { ensureDir, exists, removeEmptyDirs, treeDifference } from './tree.js';

export interface ApplyOptions {
  v2: string;
  fs?: MutatingFs;
  /** Move parts into this batch instead of deleting them. */
  quarantine?: QuarantineBatch;
  /** Called after each repository is handled (journal, progress). */
  onRepository?: (r: AppliedRepository) => void;
  /** Called after each cleanup entry is handled. */
  onCleanup?: (c: AppliedCleanup) => void;
}

export function countsFromSnapshot(s: RepositorySnapshot): { tagLinks: number; revisions: number } {
  let tagLinks = 0;
  let revisions = 0;
  for (const l of s.links) {
    if (l.kind === 'tag-current') tagLinks++;
    else if (l.kind === 'revision') revisions++;
  }
  return { tagLinks, revisions };
}

/** repositories/ and every directory from it down to `rel` must be real directories, not symlinks. */
function assertPlainPath(storage: StorageReader, v2: string, rel: string): string {
  if (rel.split('/').some((s) => s === '' || s === '.' || s === '..'))
    throw new StorageError(`refusing unsafe path ${rel}`);
  let abs = v2;
  for (const seg of [REPOSITORIES, ...rel.split('/')]) {
    abs = `${abs}/${seg}`;
    const { type } = storage.lstat(abs);
    if (type !== 'dir')
      throw new StorageError(`${abs}: not a plain directory (${type === 'symlink' ? 'symbolic link' : 'file'})`);
  }
  return abs;
}

/** A path inside the repository whose directory is `absRepo`. */
const inside = (absRepo: string, spec: RepoPathSpec): string => `${absRepo}/${repoPathFor(spec)}`;

const isPermission = (err: unknown): boolean => errnoCode(err) === 'EACCES' || errnoCode(err) === 'EPERM';

function permissionDetail(err: unknown): string {
  const where = typeof err === 'object' && err && 'path' in err ? `${String(err.path)}: ` : '';
  return `${where}${describeFsError(err)}`;
}

class Applier {
  constructor(
    private readonly v2: string,
    private readonly fs: MutatingFs,
    private readonly q: QuarantineBatch | undefined,
  ) {}

  private names(abs: string): string[] {
    return this.fs.list(abs).map((e) => e.name);
  }

  /** rmdir upwards while empty, stopping below repositories/; a directory it may not remove stays (the next scan reports it). */
  private removeEmptyParents(absDir: string): void {
    removeEmptyDirs(this.fs, absDir, `${this.v2}/${REPOSITORIES}`, isPermission);
  }

  /** Renames <repo>/<part> into <repo>/_regaudit_trash (which must exist), clearing a leftover of the same name. */
  private hide(abs: string, part: RepositoryPart): void {
    const from = inside(abs, { kind: 'part', part });
    const to = inside(abs, { kind: 'trashPart', part });
    try {
      this.fs.rename(from, to);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      // A leftover of the same name from an interrupted run (quarantine mode drained it first).
      removeTree(this.fs, to);
      this.fs.rename(from, to);
    }
  }

  private makeTrash(abs: string): void {
    try {
      this.fs.mkdir(inside(abs, { kind: 'trash' }));
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
  }

  /** Copies src to destDir/name through a staging name and verifies it before it appears under its name. */
  private copyVerified(src: string, destDir: string, name: string): void {
    const stale = `.${name}.partial-`;
    for (const e of this.names(destDir)) if (e.startsWith(stale)) removeTree(this.fs, `${destDir}/${e}`);
    const staging = `${destDir}/${stale}${process.pid}`;
    this.fs.copyTree(src, staging);
    const diff = treeDifference(src, staging);
    if (diff !== null) {
      removeTree(this.fs, staging);
      throw new StorageError(
        `copy of ${src} into the quarantine does not match the original (${diff}); nothing was removed`,
      );
    }
    this.fs.rename(staging, `${destDir}/${name}`);
  }

  /** Moves src to destDir/name: one rename on the same filesystem, else copy, verify, then `removeSource`. */
  private moveInto(src: string, destDir: string, name: string, removeSource: () => void): void {
    try {
      this.fs.rename(src, `${destDir}/${name}`);
    } catch (err) {
      if (errnoCode(err) !== 'EXDEV') throw err;
      this.copyVerified(src, destDir, name);
      removeSource();
    }
  }

  /**
   * Quarantine mode: what an interrupted run left in <repo>/_regaudit_trash. An entry identical to
   * the part already in the batch is the original of a verified cross-filesystem copy: removed.
   * Anything else (the remains of an interrupted delete) moves into the batch as
   * <repo>/_regaudit_trash/<entry>, so restore puts it back exactly where it was. Returns why
   * nothing was moved when the batch already holds a different entry of that name.
   */
  drainTrash(absRepo: string, name: string): string | null {
    const q = this.q!;
    const trash = inside(absRepo, { kind: 'trash' });
    if (!exists(this.fs, trash)) return null;
    const dest = q.repositoryDir(name);
    let copiesRemoved = false;
    for (const e of this.names(trash).sort()) {
      if (exists(this.fs, `${dest}/${e}`) && treeDifference(`${trash}/${e}`, `${dest}/${e}`) === null) {
        removeTree(this.fs, `${trash}/${e}`);
        copiesRemoved = true;
      }
    }
    const kept = `${dest}/${TRASH_DIR}`;
    if (copiesRemoved && this.names(trash).length === 0) {
      // it only held originals of verified copies: it was this tool's, not the storage's
      removeTree(this.fs, trash);
      return null;
    }
    if (!exists(this.fs, kept)) {
      // whole, so it comes back with its own mode and dates
      ensureDir(this.fs, dest);
      this.moveInto(trash, dest, TRASH_DIR, () => removeTree(this.fs, trash));
      return null;
    }
    for (const e of this.names(trash).sort()) {
      if (exists(this.fs, `${kept}/${e}`)) {
        const diff = treeDifference(`${trash}/${e}`, `${kept}/${e}`);
        if (diff !== null) return `${TRASH_DIR}/${e} differs from ${kept}/${e} already in the quarantine (${diff})`;
        removeTree(this.fs, `${trash}/${e}`);
        continue;
      }
      ensureDir(this.fs, kept);
      this.moveInto(`${trash}/${e}`, kept, e, () => removeTree(this.fs, `${trash}/${e}`));
    }
    removeTree(this.fs, trash);
    return null;
  }

  private quarantineParts(abs: string, name: string): string | null {
    const q = this.q!;
    const conflict = this.drainTrash(abs, name);
    if (conflict !== null) return conflict;
    const dest = q.repositoryDir(name);
    const present = REPOSITORY_PARTS.filter((part) => exists(this.fs, inside(abs, { kind: 'part', part })));
    // A part already in the batch: a verified copy from an interrupted cross-filesystem run.
    const copied = new Set<string>();
    for (const p of present) {
      if (!exists(this.fs, `${dest}/${p}`)) continue;
      const diff = treeDifference(inside(abs, { kind: 'part', part: p }), `${dest}/${p}`);
      if (diff !== null) return `${dest}/${p} is already in the quarantine and differs (${diff})`;
      copied.add(p);
    }
    ensureDir(this.fs, dest);
    let trashMade = false;
    const hide = (p: RepositoryPart): void => {
      if (!trashMade) this.makeTrash(abs);
      trashMade = true;
      this.hide(abs, p);
    };
    for (const p of present) {
      if (copied.has(p)) hide(p);
      else this.moveInto(inside(abs, { kind: 'part', part: p }), dest, p, () => hide(p));
    }
    if (trashMade) removeTree(this.fs, inside(abs, { kind: 'trash' }));
    return null;
  }

  private deleteParts(abs: string): void {
    this.makeTrash(abs);
    for (const part of REPOSITORY_PARTS) this.hide(abs, part);
    removeTree(this.fs, inside(abs, { kind: 'trash' }));
  }

  repository(entry: PlannedRepository): AppliedRepository {
    const out: AppliedRepository = { ...entry, deleted: false };
    const skip = (reason: ApplySkipReason, detail: string): AppliedRepository => ({
      ...out,
      action: 'skip',
      reason,
      detail,
    });
    let abs: string;
    try {
      abs = assertPlainPath(this.fs, this.v2, entry.name);
    } catch (err) {
      return skip('changed-since-scan', err instanceof StorageError ? err.message : describeFsError(err));
    }
    const now = rereadRepository(this.fs, abs, entry.name);
    if (now.problem !== null) return skip('changed-since-scan', `re-read failed: ${now.problem}`);
    const counts = countsFromSnapshot(now);
    if (repositoryState({ liveTags: 0, ...counts }) !== 'empty')
      return skip('changed-since-scan', 'it has tags or revisions now');
    if (now.entries !== entry.expect.entries || now.newestMtimeMs !== entry.expect.newestMtimeMs) {
      return skip('changed-since-scan', `its contents changed (entries ${entry.expect.entries} → ${now.entries})`);
    }
    try {
      if (this.q) {
        const conflict = this.quarantineParts(abs, entry.name);
        if (conflict !== null) return skip('quarantine-conflict', conflict);
      } else this.deleteParts(abs);
    } catch (err) {
      // Nothing else in this repository can be done as this user; the others may still be.
      if (isPermission(err)) return skip('permission-denied', permissionDetail(err));
      throw err;
    }
    this.removeEmptyParents(abs);
    return { ...out, deleted: true, ...(this.q ? { quarantined: this.q.repositoryDir(entry.name) } : {}) };
  }

  cleanup(c: PlannedCleanup): AppliedCleanup {
    const abs = `${this.v2}/${c.path}`;
    const rel = c.path.startsWith(`${REPOSITORIES}/`) ? c.path.slice(REPOSITORIES.length + 1) : '';
    try {
      assertPlainPath(this.fs, this.v2, rel);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { ...c, done: true };
      return { ...c, done: false, detail: err instanceof StorageError ? err.message : describeFsError(err) };
    }
    try {
      if (c.reason === 'pending-deletion') {
        if (path.posix.basename(abs) !== TRASH_DIR) return { ...c, done: false };
        const repoAbs = path.posix.dirname(abs);
        if (this.q) {
          const conflict = this.drainTrash(repoAbs, path.posix.dirname(rel));
          if (conflict !== null) return { ...c, done: false, detail: conflict };
        } else removeTree(this.fs, abs);
        this.removeEmptyParents(repoAbs);
      } else {
        this.removeEmptyParents(abs);
      }
      return { ...c, done: true };
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { ...c, done: true };
      if (isPermission(err)) return { ...c, done: false, detail: permissionDetail(err) };
      throw err;
    }
  }
}

/** Carries out a plan. Throws StorageError on a filesystem failure, after which a rerun resumes. */
export function applyPlan(plan: PrunePlan, opts: ApplyOptions): ApplyResult {
  const applier = new Applier(opts.v2, opts.fs ?? realFs, opts.quarantine);
  const byName = new Map(plan.repositories.map((r) => [r.name, r]));
  const results = new Map<string, AppliedRepository>();
  for (const name of applyOrder(plan.repositories.filter((r) => r.action === 'delete').map((r) => r.name))) {
    let res: AppliedRepository;
    try {
      res = applier.repository(byName.get(name)!);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(
        `${opts.v2}/${REPOSITORIES}/${name}: ${describeFsError(err)} (prune stopped; rerun it to finish)`,
      );
    }
    results.set(name, res);
    opts.onRepository?.(res);
  }
  const repositories = plan.repositories.map((r) => results.get(r.name) ?? { ...r, deleted: false });
  const cleanup: AppliedCleanup[] = [];
  for (const c of plan.cleanup) {
    if (c.action !== 'remove') continue;
    let res: AppliedCleanup;
    try {
      res = applier.cleanup(c);
    } catch (err) {
      throw new StorageError(`${opts.v2}/${c.path}: ${describeFsError(err)} (prune stopped; rerun it to finish)`);
    }
    cleanup.push(res);
    opts.onCleanup?.(res);
  }
  return { repositories, cleanup };
}
