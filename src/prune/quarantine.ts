/**
 * Quarantine batches: where `prune --apply --quarantine DIR` moves repositories' parts instead of
 * deleting them, so `restore` can put them back.
 *
 *   DIR/<batch>/journal.json                            what was planned and done, by which version
 *   DIR/<batch>/repositories/<name>/{_manifests,_layers,_uploads}
 *
 * The journal also records, before anything moves, every directory from repositories/ down to
 * each repository (and each empty directory the prune removes): mode, owner and nanosecond mtime,
 * so restore can re-create and re-date them exactly. A batch left `running` by a killed prune is
 * resumed by the next prune of the same root into the same DIR, so one batch holds the whole job.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { StorageError, UsageError, describeFsError, errnoCode } from '../errors.js';
import { BLOBS, REPOSITORIES, REPOSITORY_PARTS, TRASH_DIR } from '../layout/paths.js';
import { TOOL_VERSION } from '../version.js';
import type { MutatingFs } from './fsops.js';
import { plannedActions, type JournalAction, type JournalOutcome } from './journal.js';
import type { PrunePlan } from './plan.js';
import { ensureDir, newestBatch } from './tree.js';

export const JOURNAL_FILE = 'journal.json';
export const JOURNAL_FORMAT = 'regaudit-quarantine/1';
/** Prefix of a batch being purged (renamed first, so a killed purge is finished by the next one). */
export const PURGING_PREFIX = '.purging-';
/** Prefix of a batch being created (renamed into place once its journal is written). */
export const CREATING_PREFIX = '.creating-';

export type BatchStatus = 'running' | 'complete' | 'restoring' | 'restored';

export interface DirectoryRecord {
  mode: number;
  uid: number;
  gid: number;
  /** Nanoseconds since the epoch, as a decimal string (beyond a double's precision). */
  mtimeNs: string;
}

export interface JournalRun {
  pid: number;
  host: string;
  toolVersion: string;
  startedAt: string;
  finishedAt: string | null;
  status: 'running' | 'complete' | 'failed';
  error?: string;
  planned: JournalAction[];
  done: JournalOutcome[];
}

export interface BatchJournal {
  format: typeof JOURNAL_FORMAT;
  batch: string;
  /** Absolute path of docker/registry/v2 the parts came from. */
  root: string;
  status: BatchStatus;
  createdAt: string;
  updatedAt: string;
  /** Parts planned for each repository, over every run (restore's test for "re-created since"). */
  repositories: Record<string, string[]>;
  /** Relative to docker/registry/v2; first record wins, so a resumed run keeps the original dates. */
  directories: Record<string, DirectoryRecord>;
  runs: JournalRun[];
  restores: Array<{ toolVersion: string; startedAt: string; finishedAt: string | null; repositories: number }>;
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** realpath of the longest existing prefix, plus the rest: where `p` will really be. */
function realpathLoose(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync(head), ...tail);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new StorageError(`${p}: ${describeFsError(err)}`);
      const up = path.dirname(head);
      if (up === head) return abs;
      tail.unshift(path.basename(head));
      head = up;
    }
  }
}

/**
 * The quarantine directory, resolved through symbolic links. Refused inside repositories/ (the
 * registry's catalog and garbage-collect would walk the quarantined parts as repositories) and
 * inside blobs/.
 */
export function resolveQuarantineDir(dir: string, v2: string): string {
  const real = realpathLoose(dir);
  const realV2 = realpathLoose(v2);
  for (const area of [REPOSITORIES, BLOBS]) {
    if (isInside(real, path.join(realV2, area))) {
      throw new UsageError(
        `--quarantine ${dir}: inside the storage's ${area}/, where the registry would see it; choose a directory outside ${path.join(realV2, area)}`,
      );
    }
  }
  return real;
}

export function readJournal(batchDir: string): BatchJournal {
  const file = path.join(batchDir, JOURNAL_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StorageError(`${file}: ${describeFsError(err)} (not a quarantine batch?)`);
  }
  let j: BatchJournal;
  try {
    j = JSON.parse(text) as BatchJournal;
  } catch {
    throw new StorageError(`${file}: not valid JSON`);
  }
  if (
    j?.format !== JOURNAL_FORMAT ||
    typeof j.root !== 'string' ||
    typeof j.directories !== 'object' ||
    !Array.isArray(j.runs)
  ) {
    throw new StorageError(`${file}: not a regaudit quarantine journal (format ${JSON.stringify(j?.format)})`);
  }
  return j;
}

export function writeJournal(mfs: MutatingFs, batchDir: string, j: BatchJournal, now: number): void {
  j.updatedAt = new Date(now).toISOString();
  mfs.writeFileAtomic(path.join(batchDir, JOURNAL_FILE), `${JSON.stringify(j, null, 2)}\n`);
}

function batchName(now: number): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The newest batch in `dir` left running by a killed prune of `v2`, if any. */
function resumable(dir: string, v2: string): { name: string; journal: BatchJournal } | null {
  return newestBatch(dir, readJournal, (j) => j.root === v2 && j.status === 'running');
}

function recordChain(j: BatchJournal, v2: string, rel: string): void {
  const segs = rel.split('/');
  for (let i = 1; i <= segs.length; i++) {
    const r = segs.slice(0, i).join('/');
    if (j.directories[r]) continue;
    try {
      const st = lstatSync(path.join(v2, r), { bigint: true });
      if (!st.isDirectory()) return;
      j.directories[r] = {
        mode: Number(st.mode),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtimeNs: st.mtimeNs.toString(),
      };
    } catch {
      return;
    }
  }
}

function presentParts(abs: string, names: readonly string[]): string[] {
  return names.filter((p) => {
    try {
      lstatSync(path.join(abs, p));
      return true;
    } catch {
      return false;
    }
  });
}

/** An open batch: where each repository's parts go, and its journal. */
export class QuarantineBatch {
  private finished = false;

  constructor(
    private readonly mfs: MutatingFs,
    readonly dir: string,
    readonly name: string,
    readonly journal: BatchJournal,
    readonly resumed: boolean,
  ) {}

  get path(): string {
    return path.join(this.dir, this.name);
  }

  /** DIR/<batch>/repositories/<name>: where repository `name`'s parts go. */
  repositoryDir(name: string): string {
    return path.posix.join(this.path, REPOSITORIES, name);
  }

  private get run(): JournalRun {
    return this.journal.runs[this.journal.runs.length - 1]!;
  }

  /** Records what this run did and closes it; the batch stays resumable unless everything ran. */
  finish(done: JournalOutcome[], now: number, error?: string): void {
    if (this.finished) return;
    this.finished = true;
    const run = this.run;
    run.done = done;
    run.finishedAt = new Date(now).toISOString();
    run.status = error === undefined ? 'complete' : 'failed';
    if (error !== undefined) run.error = error;
    if (error === undefined) this.journal.status = 'complete';
    writeJournal(this.mfs, this.path, this.journal, now);
  }
}

/**
 * Opens the batch a prune quarantines into: resumes a batch a killed prune of this root left
 * running, or creates a new one. Records the plan and the directories it may change, durably,
 * before the caller moves anything.
 */
export function openBatch(mfs: MutatingFs, dir: string, v2: string, plan: PrunePlan, now: number): QuarantineBatch {
  ensureDir(mfs, dir);
  const prior = resumable(dir, v2);
  const name = prior?.name ?? batchName(now);
  const iso = new Date(now).toISOString();
  const journal: BatchJournal = prior?.journal ?? {
    format: JOURNAL_FORMAT,
    batch: name,
    root: v2,
    status: 'running',
    createdAt: iso,
    updatedAt: iso,
    repositories: {},
    directories: {},
    runs: [],
    restores: [],
  };
  journal.runs.push({
    pid: process.pid,
    host: hostname(),
    toolVersion: TOOL_VERSION,
    startedAt: iso,
    finishedAt: null,
    status: 'running',
    planned: plannedActions(plan),
    done: [],
  });
  const note = (repo: string, parts: string[]): void => {
    const had = new Set(journal.repositories[repo] ?? []);
    for (const p of parts) had.add(p);
    journal.repositories[repo] = [...had].sort();
  };
  recordChain(journal, v2, REPOSITORIES);
  for (const r of plan.repositories) {
    if (r.action !== 'delete') continue;
    const rel = `${REPOSITORIES}/${r.name}`;
    recordChain(journal, v2, rel);
    note(r.name, presentParts(path.join(v2, rel), REPOSITORY_PARTS));
  }
  for (const c of plan.cleanup) {
    if (c.action !== 'remove') continue;
    if (c.reason === 'pending-deletion') {
      const repoRel = path.posix.dirname(c.path);
      recordChain(journal, v2, repoRel);
      note(repoRel.slice(REPOSITORIES.length + 1), [TRASH_DIR]);
    } else recordChain(journal, v2, c.path);
  }
  if (prior) {
    writeJournal(mfs, path.join(dir, name), journal, now);
  } else {
    // Built under a dot name and renamed, so a batch never exists without its journal.
    const staging = path.join(dir, `${CREATING_PREFIX}${name}`);
    ensureDir(mfs, path.join(staging, REPOSITORIES));
    writeJournal(mfs, staging, journal, now);
    mfs.rename(staging, path.join(dir, name));
  }
  return new QuarantineBatch(mfs, dir, name, journal, prior !== null);
}
