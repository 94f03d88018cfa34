/**
 * Listing and purging quarantine batches. A purge renames the batch to `.purging-<batch>` first
 * (one atomic step: it is no longer a batch anyone can restore or resume), then removes it; a
 * killed purge is finished by the next one.
 */
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { StorageError, describeFsError, errnoCode } from '../errors.js';
import { removeTree, type MutatingFs } from './fsops.js';
import { CREATING_PREFIX, PURGING_PREFIX, readJournal, type BatchStatus } from './quarantine.js';
import { batchRepositories } from './restore.js';

export interface BatchInfo {
  name: string;
  path: string;
  /** Which command wrote it: prune (journal.json) or gc (gc.json). */
  kind: 'prune' | 'gc';
  /** null: a directory without a readable journal (never purged); `failed`: a gc stopped by an error. */
  status: BatchStatus | 'failed' | null;
  root: string | null;
  createdAt: string | null;
  /** When it last changed state (finished, restored); createdAt while running. */
  settledAt: string | null;
  repositories: number;
  files: number;
  bytes: number;
  problem?: string;
}

function sizeOf(abs: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(`${p}/${e}`);
    else {
      files++;
      bytes += st.size;
    }
  };
  try {
    walk(abs);
  } catch {
    // sizes are informative only
  }
  return { files, bytes };
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new StorageError(`${dir}: no such quarantine directory`);
    throw new StorageError(`${dir}: ${describeFsError(err)}`);
  }
}

/** What a batch another command wrote says about itself (see app/quarantine.ts), or null when it is not one. */
export type ForeignBatchReader = (batchDir: string) => Omit<BatchInfo, 'name' | 'path'> | null;

/** Sum of the files under a directory (informative: 0 when unreadable). */
export { sizeOf as batchSize };

/**
 * Every batch in `dir`, oldest first; dot entries (batches being created or purged) are left out.
 * `foreign` reads batches other commands (gc) wrote.
 */
export function listBatches(dir: string, foreign?: ForeignBatchReader): BatchInfo[] {
  const out: BatchInfo[] = [];
  for (const name of listNames(dir)) {
    if (name.startsWith('.')) continue;
    const p = path.join(dir, name);
    try {
      if (!lstatSync(p).isDirectory()) continue;
    } catch {
      continue;
    }
    const other = foreign?.(p);
    if (other) {
      out.push({ name, path: p, ...other });
      continue;
    }
    const { files, bytes } = sizeOf(path.join(p, 'repositories'));
    try {
      const j = readJournal(p);
      const settled =
        j.status === 'restored'
          ? j.restores.at(-1)?.finishedAt
          : j.status === 'complete'
            ? j.runs.at(-1)?.finishedAt
            : null;
      out.push({
        name,
        path: p,
        kind: 'prune',
        status: j.status,
        root: j.root,
        createdAt: j.createdAt,
        settledAt: settled ?? j.createdAt,
        repositories: batchRepositories(p).repos.length,
        files,
        bytes,
      });
    } catch (err) {
      out.push({
        name,
        path: p,
        kind: 'prune',
        status: null,
        root: null,
        createdAt: null,
        settledAt: null,
        repositories: 0,
        files,
        bytes,
        problem: (err as Error).message,
      });
    }
  }
  return out.sort((a, b) =>
    (a.createdAt ?? '') < (b.createdAt ?? '')
      ? -1
      : (a.createdAt ?? '') > (b.createdAt ?? '')
        ? 1
        : a.name < b.name
          ? -1
          : 1,
  );
}

export interface PurgeDecision extends BatchInfo {
  action: 'purge' | 'keep';
  reason: string;
  done: boolean;
}

/**
 * Which batches a purge removes: finished (complete or restored) ones settled before
 * `now - olderThanMs`. Running and restoring batches are kept: a rerun of prune resumes the first,
 * a rerun of restore finishes the second.
 */
export function purgeDecisions(batches: readonly BatchInfo[], now: number, olderThanMs: number): PurgeDecision[] {
  return batches.map((b) => {
    const keep = (reason: string): PurgeDecision => ({ ...b, action: 'keep', reason, done: false });
    if (b.status === null) return keep(`not a quarantine batch (${b.problem ?? 'no journal'})`);
    if (b.status === 'running' || b.status === 'failed')
      return keep(`unfinished ${b.kind}: rerun ${b.kind} to finish it, or restore it`);
    if (b.status === 'restoring') return keep('unfinished restore: rerun restore to finish it');
    const at = Date.parse(b.settledAt ?? '');
    if (!Number.isFinite(at)) return keep('no usable date in the journal');
    if (now - at < olderThanMs) return keep(`newer than the cut-off (${b.settledAt})`);
    return { ...b, action: 'purge', reason: `${b.status} ${b.settledAt}`, done: false };
  });
}

/** Removes the batches marked purge, finishing any purge a kill interrupted first. */
export function purgeBatches(mfs: MutatingFs, dir: string, decisions: PurgeDecision[]): PurgeDecision[] {
  for (const name of listNames(dir)) {
    if (name.startsWith(PURGING_PREFIX) || name.startsWith(CREATING_PREFIX)) removeTree(mfs, path.join(dir, name));
  }
  return decisions.map((d) => {
    if (d.action !== 'purge') return d;
    const aside = path.join(dir, `${PURGING_PREFIX}${d.name}`);
    mfs.rename(d.path, aside);
    removeTree(mfs, aside);
    return { ...d, done: true };
  });
}
