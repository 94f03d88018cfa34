/**
 * Restoring a quarantine batch: every part goes back where it came from (one rename each on the
 * same filesystem; copy, verify, rename across filesystems), directories prune removed are
 * re-created with their mode and owner, and every directory the journal recorded gets its
 * modification time back to the nanosecond.
 *
 * Before anything moves, each repository is checked: if storage holds one of its parts again
 * (pushed since), or a part the quarantine never took, the whole restore is refused. A killed
 * restore is finished by running it again: parts already back and absent from the batch are fine.
 */
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { StorageError, errnoCode } from '../errors.js';
import { REPOSITORIES, REPOSITORY_PARTS, repoPathFor, type RepositoryPart } from '../layout/paths.js';

const RESTORE_ORDER: readonly RepositoryPart[] = [...REPOSITORY_PARTS].reverse();
import { TOOL_VERSION } from '../version.js';
import { removeTree, type MutatingFs } from './fsops.js';
import type { StorageReader } from '../storage/driver.js';
import { readJournal, writeJournal, type BatchJournal } from './quarantine.js';
import { exists, removeEmptyDirs, treeDifference } from './tree.js';

/** Staging name inside a repository while a part is copied back across filesystems (a `_` name: the registry skips it). */

export interface BatchRepository {
  name: string;
  /** `_` entries in the batch: the parts to put back. */
  parts: string[];
}

export interface RestoreResult {
  batch: string;
  root: string;
  repositories: BatchRepository[];
  /** Directories re-created (prune had removed them as empty). */
  recreated: string[];
  /** Directories whose modification time was set back. */
  redated: number;
}

/** The repositories in a batch, and the leftovers of an interrupted restore (`.<part>.restored`, `.<part>.partial-*`). */
export function batchRepositories(batchDir: string): { repos: BatchRepository[]; leftovers: string[] } {
  const repos: BatchRepository[] = [];
  const leftovers: string[] = [];
  const walk = (abs: string, name: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(abs).sort();
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && name === '') return;
      throw err;
    }
    const parts: string[] = [];
    for (const e of entries) {
      const p = `${abs}/${e}`;
      if (e.startsWith('.')) leftovers.push(p);
      else if (!lstatSync(p).isDirectory()) continue;
      else if (e.startsWith('_')) parts.push(e);
      else walk(p, name === '' ? e : `${name}/${e}`);
    }
    if (parts.length > 0 && name !== '') repos.push({ name, parts });
  };
  walk(path.join(batchDir, REPOSITORIES), '');
  repos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { repos, leftovers };
}

/** Why `repo` cannot go back into storage, or null. */
function conflictOf(storage: StorageReader, v2: string, j: BatchJournal, repo: BatchRepository): string | null {
  let abs = v2;
  for (const seg of [REPOSITORIES, ...repo.name.split('/')]) {
    abs = `${abs}/${seg}`;
    let type;
    try {
      type = storage.lstat(abs).type;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
    if (type !== 'dir') return `${abs} is a ${type === 'symlink' ? 'symbolic link' : 'file'}, not a directory`;
  }
  for (const part of repo.parts) {
    if (exists(storage, `${abs}/${part}`)) return `${repo.name} has been re-created since (${part} exists in storage)`;
  }
  // When prune took the repository itself (not only a leftover trash), a part it did not take
  // has been created since. A part it took that is in storage again but gone from the batch is
  // one an interrupted restore already put back.
  const taken = new Set(
    (j.repositories[repo.name] ?? []).filter((p) => (REPOSITORY_PARTS as readonly string[]).includes(p)),
  );
  if (taken.size === 0) return null;
  for (const part of REPOSITORY_PARTS) {
    if (!taken.has(part) && exists(storage, `${abs}/${part}`))
      return `${repo.name} has been re-created since (${part} exists in storage)`;
  }
  return null;
}

function byDepth(a: string, b: string): number {
  return a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0);
}

class Restorer {
  readonly recreated: string[] = [];

  constructor(
    private readonly fs: MutatingFs,
    private readonly v2: string,
    private readonly batchDir: string,
    private readonly j: BatchJournal,
  ) {}

  /** Creates a directory prune removed, with its recorded mode and owner (its mtime is set at the end). */
  private recreate(rel: string): void {
    const abs = `${this.v2}/${rel}`;
    if (exists(this.fs, abs)) return;
    this.fs.mkdir(abs);
    const rec = this.j.directories[rel];
    if (rec) this.fs.setAttributes(abs, { mode: rec.mode, uid: rec.uid, gid: rec.gid });
    this.recreated.push(rel);
  }

  private recreateChain(rel: string): void {
    const segs = rel.split('/');
    for (let i = 1; i <= segs.length; i++) this.recreate(segs.slice(0, i).join('/'));
  }

  private putBack(src: string, targetDir: string, part: string): void {
    const dst = `${targetDir}/${part}`;
    const staging = `${targetDir}/${repoPathFor({ kind: 'restoring', part })}`;
    removeTree(this.fs, staging);
    try {
      this.fs.rename(src, dst);
      return;
    } catch (err) {
      if (errnoCode(err) !== 'EXDEV') throw err;
    }
    this.fs.copyTree(src, staging);
    const diff = treeDifference(src, staging);
    if (diff !== null) {
      removeTree(this.fs, staging);
      throw new StorageError(`copy of ${src} back into storage does not match (${diff}); the batch is unchanged`);
    }
    this.fs.rename(staging, dst);
    // The batch copy is now redundant: renamed aside first, so a kill cannot leave half of it looking restorable.
    const done = `${path.posix.dirname(src)}/.${part}.restored`;
    this.fs.rename(src, done);
    removeTree(this.fs, done);
  }

  repository(repo: BatchRepository): void {
    const rel = `${REPOSITORIES}/${repo.name}`;
    this.recreateChain(rel);
    // The reverse of the order prune takes them away (uploads, then the 2.x marker, then the 3.x one).
    const order = [...repo.parts].sort((a, b) => {
      const ia = RESTORE_ORDER.indexOf(a as RepositoryPart);
      const ib = RESTORE_ORDER.indexOf(b as RepositoryPart);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : 1);
    });
    const src = path.posix.join(this.batchDir, REPOSITORIES, repo.name);
    for (const part of order) this.putBack(`${src}/${part}`, `${this.v2}/${rel}`, part);
    // the batch's repository directories left empty, up to (not including) its repositories/
    removeEmptyDirs(this.fs, src, path.join(this.batchDir, REPOSITORIES));
  }

  /** Re-creates recorded directories still missing (empty ones prune removed), then sets every recorded mtime back. */
  finish(): number {
    const rels = Object.keys(this.j.directories).sort(byDepth);
    for (const rel of rels) this.recreateChain(rel);
    let redated = 0;
    for (const rel of rels.reverse()) {
      const abs = `${this.v2}/${rel}`;
      const st = lstatSync(abs, { bigint: true });
      const want = BigInt(this.j.directories[rel]!.mtimeNs);
      if (!st.isDirectory() || st.mtimeNs === want) continue;
      this.fs.setAttributes(abs, { mtimeNs: want });
      redated++;
    }
    return redated;
  }
}

/** Puts batch `batchDir` back into the storage it came from (`v2`, default: the journal's root). */
export function restoreBatch(mfs: MutatingFs, batchDir: string, opts: { v2?: string; now: number }): RestoreResult {
  const j = readJournal(batchDir);
  const v2 = opts.v2 ?? j.root;
  if (j.status === 'restored')
    throw new StorageError(`${batchDir}: this batch was already restored (${j.restores.at(-1)?.finishedAt ?? '?'})`);
  if (!exists(mfs, `${v2}/${REPOSITORIES}`) && !exists(mfs, v2))
    throw new StorageError(`${v2}: storage root not found (pass --root if it moved)`);
  const { repos, leftovers } = batchRepositories(batchDir);
  const conflicts = repos.map((r) => conflictOf(mfs, v2, j, r)).filter((c): c is string => c !== null);
  if (conflicts.length > 0) {
    const more = conflicts.length > 3 ? ` and ${conflicts.length - 3} more` : '';
    throw new StorageError(`restore refused, nothing was restored: ${conflicts.slice(0, 3).join('; ')}${more}`);
  }
  if (j.status !== 'restoring') {
    j.status = 'restoring';
    j.restores.push({
      toolVersion: TOOL_VERSION,
      startedAt: new Date(opts.now).toISOString(),
      finishedAt: null,
      repositories: repos.length,
    });
    writeJournal(mfs, batchDir, j, opts.now);
  }
  // Verified copies already back in storage, and partial copies of a killed prune: both redundant.
  for (const l of leftovers) removeTree(mfs, l);
  const r = new Restorer(mfs, v2, batchDir, j);
  for (const repo of repos) r.repository(repo);
  const redated = r.finish();
  j.status = 'restored';
  const last = j.restores.at(-1);
  if (last) last.finishedAt = new Date(opts.now).toISOString();
  writeJournal(mfs, batchDir, j, opts.now);
  return { batch: batchDir, root: v2, repositories: repos, recreated: r.recreated, redated };
}
