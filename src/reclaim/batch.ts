/**
 * A gc quarantine batch: DIR/gc-<time>-<rand>/ holding `gc.json` (what the run planned, written
 * before anything moves) and `files/`, a mirror of docker/registry/v2 with every item the run took
 * at its own relative path. Restore renames each back; nothing else is needed to put it back.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { StorageError, describeFsError, errnoCode } from '../errors.js';
import { removeTree, type MutatingFs } from '../prune/fsops.js';
import { ensureDir, exists, newestBatch, treeDifference } from '../prune/tree.js';
import type { StorageReader } from '../storage/driver.js';
import { BLOBS, DATA_FILE } from '../layout/paths.js';
import { TOOL_VERSION } from '../version.js';
import { REPOSITORY_PART_ORDER, type GcItem } from './plan.js';

export const GC_JOURNAL_FILE = 'gc.json';
export const GC_JOURNAL_FORMAT = 'regaudit-gc-batch/1';
const FILES = 'files';

export interface GcJournal {
  format: typeof GC_JOURNAL_FORMAT;
  batch: string;
  /** Absolute docker/registry/v2 the items came from. */
  root: string;
  status: 'running' | 'complete' | 'failed' | 'restoring' | 'restored';
  toolVersion: string;
  pid: number;
  host: string;
  createdAt: string;
  updatedAt: string;
  error?: string;
  /** When a later run continued into this batch (after a kill or a failure). */
  resumedAt?: string[];
  /** Every planned item, in apply order (a resumed run appends what it plans anew). */
  items: Array<{ kind: GcItem['kind']; path: string; digest?: string }>;
}

/** Moves `src` to `dest` (which must not exist): one rename, or across filesystems copy, verify, remove. */
export function moveTree(mfs: MutatingFs, src: string, dest: string): void {
  ensureDir(mfs, path.posix.dirname(dest));
  try {
    mfs.rename(src, dest);
  } catch (err) {
    if (errnoCode(err) !== 'EXDEV') throw err;
    const staging = `${path.posix.dirname(dest)}/.${path.posix.basename(dest)}.partial-${process.pid}`;
    removeTree(mfs, staging);
    mfs.copyTree(src, staging);
    const diff = treeDifference(src, staging);
    if (diff !== null) {
      removeTree(mfs, staging);
      throw new StorageError(`copy of ${src} does not match the original (${diff}); nothing was removed`);
    }
    mfs.rename(staging, dest);
    removeTree(mfs, src);
  }
}

function writeJournal(mfs: MutatingFs, dir: string, j: GcJournal, now: number): void {
  j.updatedAt = new Date(now).toISOString();
  mfs.writeFileAtomic(path.join(dir, GC_JOURNAL_FILE), `${JSON.stringify(j, null, 2)}\n`);
}

export class GcBatch {
  constructor(
    private readonly mfs: MutatingFs,
    readonly path: string,
    private readonly v2: string,
    private readonly journal: GcJournal,
  ) {}

  /**
   * Moves docker/registry/v2/<rel> into the batch at files/<rel>. A blob the batch holds already (a
   * resumed batch; pushed again since) is the same content by digest: the storage's copy is removed.
   */
  take(rel: string): void {
    const dest = `${this.path}/${FILES}/${rel}`;
    const src = `${this.v2}/${rel}`;
    const held = exists(this.mfs, `${dest}/${DATA_FILE}`) || !exists(this.mfs, `${src}/${DATA_FILE}`);
    if (rel.startsWith(`${BLOBS}/`) && exists(this.mfs, dest) && held) removeTree(this.mfs, src);
    else moveTree(this.mfs, `${this.v2}/${rel}`, dest);
  }

  finish(now: number, error?: string): void {
    this.journal.status = error === undefined ? 'complete' : 'failed';
    if (error !== undefined) this.journal.error = error;
    writeJournal(this.mfs, this.path, this.journal, now);
  }
}

/** The newest batch in DIR a gc of the same root left unfinished (killed: `running`; stopped by an error: `failed`). */
function unfinishedGcBatch(dir: string, v2: string): { name: string; journal: GcJournal } | null {
  return newestBatch(
    dir,
    (p) => {
      if (!isGcBatch(p)) throw new Error('not a gc batch');
      return readGcJournal(p);
    },
    (j) => j.root === v2 && (j.status === 'running' || j.status === 'failed'),
  );
}

/**
 * The batch this run quarantines into: the one a killed or failed gc of the same root left in DIR
 * (so one batch holds the whole job and one restore undoes it), else a new one, created with its
 * journal (built under a dot name and renamed: never a batch without one).
 */
export function openGcBatch(
  mfs: MutatingFs,
  dir: string,
  v2: string,
  items: readonly GcItem[],
  now: number,
): { batch: GcBatch; resumed: boolean } {
  ensureDir(mfs, dir);
  const iso = new Date(now).toISOString();
  const planned = items.map((i) => ({ kind: i.kind, path: i.path, ...(i.digest ? { digest: i.digest } : {}) }));
  const prior = unfinishedGcBatch(dir, v2);
  if (prior) {
    const j = prior.journal;
    const known = new Set(j.items.map((i) => i.path));
    j.items.push(...planned.filter((i) => !known.has(i.path)));
    j.status = 'running';
    j.pid = process.pid;
    j.host = hostname();
    j.toolVersion = TOOL_VERSION;
    delete j.error;
    (j.resumedAt ??= []).push(iso);
    writeJournal(mfs, path.join(dir, prior.name), j, now);
    return { batch: new GcBatch(mfs, path.join(dir, prior.name), v2, j), resumed: true };
  }
  const stamp = iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const name = `gc-${stamp}-${randomBytes(3).toString('hex')}`;
  const journal: GcJournal = {
    format: GC_JOURNAL_FORMAT,
    batch: name,
    root: v2,
    status: 'running',
    toolVersion: TOOL_VERSION,
    pid: process.pid,
    host: hostname(),
    createdAt: iso,
    updatedAt: iso,
    items: planned,
  };
  const staging = path.join(dir, `.creating-${name}`);
  ensureDir(mfs, path.join(staging, FILES));
  writeJournal(mfs, staging, journal, now);
  mfs.rename(staging, path.join(dir, name));
  return { batch: new GcBatch(mfs, path.join(dir, name), v2, journal), resumed: false };
}

export function isGcBatch(batchDir: string): boolean {
  return existsSync(path.join(batchDir, GC_JOURNAL_FILE));
}

export function readGcJournal(batchDir: string): GcJournal {
  const file = path.join(batchDir, GC_JOURNAL_FILE);
  let j: GcJournal;
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as GcJournal;
  } catch (err) {
    throw new StorageError(`${file}: ${err instanceof SyntaxError ? 'not valid JSON' : describeFsError(err)}`);
  }
  if (j?.format !== GC_JOURNAL_FORMAT || typeof j.root !== 'string' || !Array.isArray(j.items))
    throw new StorageError(`${file}: not a regaudit gc journal (format ${JSON.stringify(j?.format)})`);
  return j;
}

export interface GcRestoreResult {
  batch: string;
  root: string;
  /** Relative paths put back, in the order they went back. */
  restored: string[];
  /** Blobs the storage holds again (pushed since): the batch's copy is dropped, the content is the same by digest. */
  alreadyPresent: string[];
}

/** Entries of the batch to put back, blobs first (so a manifest never comes back before what it references). */
function entriesOf(mfs: StorageReader, j: GcJournal, batchDir: string): string[] {
  const out: string[] = [];
  for (const item of [...j.items].reverse()) {
    const rels =
      item.kind === 'repository' ? REPOSITORY_PART_ORDER.map((p) => `${item.path}/${p}`).reverse() : [item.path];
    for (const rel of rels) if (exists(mfs, `${batchDir}/${FILES}/${rel}`)) out.push(rel);
  }
  return out;
}

/**
 * Puts every item of a gc batch back. Refuses, before anything moves, when storage holds one of
 * them again (other than a blob, whose digest fixes its content) or a path on the way is not a
 * plain directory. A killed restore is finished by running it again.
 */
export function restoreGcBatch(mfs: MutatingFs, batchDir: string, o: { v2?: string; now: number }): GcRestoreResult {
  const j = readGcJournal(batchDir);
  const v2 = o.v2 ?? j.root;
  const entries = entriesOf(mfs, j, batchDir);
  const alreadyPresent: string[] = [];
  // Blob directories left empty in storage (a killed gc's leftovers): the registry reads them as absent.
  const emptied: string[] = [];
  for (const rel of entries) {
    const target = `${v2}/${rel}`;
    let abs = v2;
    for (const seg of path.posix.dirname(rel).split('/')) {
      abs = `${abs}/${seg}`;
      let st;
      try {
        st = mfs.lstat(abs);
      } catch {
        break;
      }
      if (st.type !== 'dir') throw new StorageError(`${abs} is not a plain directory; nothing was restored`);
    }
    if (!exists(mfs, target)) continue;
    if (rel.startsWith(`${BLOBS}/`) && exists(mfs, `${target}/${DATA_FILE}`)) alreadyPresent.push(rel);
    else if (rel.startsWith(`${BLOBS}/`) && mfs.list(target).length === 0) emptied.push(rel);
    else throw new StorageError(`${target} exists again (written since the gc); nothing was restored`);
  }
  j.status = 'restoring';
  writeJournal(mfs, batchDir, j, o.now);
  const restored: string[] = [];
  for (const rel of entries) {
    const src = `${batchDir}/${FILES}/${rel}`;
    if (alreadyPresent.includes(rel)) removeTree(mfs, src);
    else {
      if (emptied.includes(rel)) removeTree(mfs, `${v2}/${rel}`);
      moveTree(mfs, src, `${v2}/${rel}`);
      restored.push(rel);
    }
  }
  // What is left in files/ is empty directories.
  for (const e of mfs.list(`${batchDir}/${FILES}`)) removeTree(mfs, `${batchDir}/${FILES}/${e.name}`);
  j.status = 'restored';
  writeJournal(mfs, batchDir, j, o.now);
  return { batch: batchDir, root: v2, restored, alreadyPresent };
}

/** What `quarantine list` and `purge` show of a gc batch, or null when the directory is not one. */
export function gcBatchInfo(batchDir: string): {
  kind: 'gc';
  status: GcJournal['status'] | null;
  root: string | null;
  createdAt: string | null;
  settledAt: string | null;
  repositories: number;
  problem?: string;
} | null {
  if (!isGcBatch(batchDir)) return null;
  try {
    const j = readGcJournal(batchDir);
    const repos = new Set(j.items.filter((i) => i.kind === 'repository').map((i) => i.path));
    const settled = j.status === 'complete' || j.status === 'restored' ? j.updatedAt : j.createdAt;
    return {
      kind: 'gc',
      status: j.status,
      root: j.root,
      createdAt: j.createdAt,
      settledAt: settled,
      repositories: repos.size,
    };
  } catch (err) {
    return {
      kind: 'gc',
      status: null,
      root: null,
      createdAt: null,
      settledAt: null,
      repositories: 0,
      problem: (err as Error).message,
    };
  }
}

/** The directory holding a gc batch's files (for its size). */
export function gcBatchFiles(batchDir: string): string {
  return path.join(batchDir, FILES);
}
