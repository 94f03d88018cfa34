/**
 * The incremental rescan: updates the previous scan of a root in place, inside one transaction,
 * in four phases:
 *   1. list the namespace directories (new and removed repositories show there) and the blob
 *      fan-out directories, without reading any repository;
 *   2. re-check the stamp (scan/stamp.ts) of each repository and fan-out directory the index knows;
 *   3. read again, exactly as a full scan reads it, whatever is new or whose stamp changed, and drop
 *      what is gone;
 *   4. read the manifests not parsed yet (they are content-addressed: one parsed is not read again).
 */
import type { DB } from '../index/open.js';
import * as stamps from '../index/stamps.js';
import type { IndexWriter } from '../index/writes.js';
import { BLOBS, pathFor, repositoryPath, type RepositoryPart } from '../layout/paths.js';
import type { Digest } from '../layout/digest.js';
import { derivedFanPaths, derivedRepositoryPaths } from './stamp.js';
import type { TaskRunner } from './runners.js';
import {
  initialTasks,
  manifestTasksFor,
  namespace,
  type RepositoryReader,
  type VerifyItem,
  type WalkContext,
  type WalkTask,
} from './tasks.js';
import type { CollectingSink } from './walk.js';

export interface RescanStats {
  repositories: number;
  repositoriesReread: number;
  fans: number;
  fansReread: number;
  manifestsRead: number;
}

/** A repository or blob fan-out directory found by phase 1. */
interface FoundRepository {
  kind: 'repository';
  name: string;
  parts: Array<[RepositoryPart, string]>;
}
interface FoundFan {
  kind: 'fan';
  alg: string;
  fan: string;
}
type Found = FoundRepository | FoundFan;
interface FoundNow {
  repositories: Map<string, FoundRepository>;
  fans: FoundFan[];
}

const fanKey = (f: { alg: string; fan: string }): string => `${f.alg}/${f.fan}`;

/** Phase 1: what is there now. Namespace directories are listed; repository parts are not read. */
function listStorage(ctx: WalkContext, sink: CollectingSink): FoundNow {
  const repositories = new Map<string, FoundRepository>();
  const record: RepositoryReader = (_abs, name, parts) => {
    repositories.set(name, { kind: 'repository', name, parts: [...parts] });
    return null;
  };
  const fans: FoundFan[] = [];
  const queue: WalkTask[] = initialTasks(ctx, sink).reverse();
  for (let task = queue.pop(); task; task = queue.pop()) {
    if (task.kind === 'namespace')
      for (const child of namespace(ctx, task.name, sink, record).reverse()) queue.push(child);
    else if (task.kind === 'blobFan') fans.push({ kind: 'fan', alg: task.alg, fan: task.fan });
  }
  return { repositories, fans };
}

interface Previous {
  repos: ReturnType<typeof stamps.repositoryStamps>;
  fans: ReturnType<typeof stamps.fanStamps>;
}

/**
 * Phase 2: which of the found entries keep their rows (the stamp checks run on the workers: only
 * stats, no listing, no reads). Items are built as the runner asks for them: their path lists are
 * the bulk of a rescan's memory.
 */
async function unchangedSince(
  db: DB,
  ctx: WalkContext,
  scanId: number,
  prev: Previous,
  found: Iterable<Found>,
  sink: CollectingSink,
  runner: TaskRunner,
): Promise<Set<Found>> {
  const checked: Found[] = [];
  function* verifyItems(): Generator<VerifyItem> {
    for (const f of found) {
      let paths: string[];
      let base: string;
      let stamp: string;
      if (f.kind === 'repository') {
        const old = prev.repos.get(f.name);
        if (!old || old.stamp === null) continue;
        const isDir = (p: RepositoryPart): boolean => f.parts.some(([n, t]) => n === p && t === 'dir');
        const same =
          isDir('_layers') === old.hasLayers &&
          isDir('_manifests') === old.hasManifests &&
          isDir('_uploads') === old.hasUploads;
        if (!same) continue;
        paths = [...derivedRepositoryPaths({ ...old, ...stamps.repositoryRows(db, old.id) }), ...old.extra];
        base = `${ctx.v2}/${repositoryPath(f.name)}`;
        stamp = old.stamp;
      } else {
        const old = prev.fans.get(fanKey(f));
        if (!old) continue;
        paths = [...derivedFanPaths(stamps.fanDigests(db, scanId, f.alg, f.fan)), ...old.extra];
        base = `${ctx.v2}/${pathFor({ kind: 'blobFan', alg: f.alg, fan: f.fan })}`;
        stamp = old.stamp;
      }
      checked.push(f);
      yield { id: checked.length - 1, base, paths, stamp };
    }
  }
  function* verifyTasks(): Generator<WalkTask> {
    let batch: VerifyItem[] = [];
    let size = 0;
    for (const item of verifyItems()) {
      batch.push(item);
      size += item.paths.length;
      if (size >= VERIFY_BATCH_PATHS) {
        yield { kind: 'verify', items: batch };
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) yield { kind: 'verify', items: batch };
  }
  const changed = new Set<number>();
  await runner.drain(verifyTasks(), sink, { onResult: (r) => r.changed.forEach((id) => changed.add(id)) });
  return new Set(checked.filter((_, id) => !changed.has(id)));
}

/** Phase 3: rows of what changed or went away are dropped; what changed or is new is read again. */
async function rereadChanged(
  db: DB,
  scanId: number,
  prev: Previous,
  now: FoundNow,
  unchanged: Set<Found>,
  writer: IndexWriter,
  looseDebris: ReturnType<typeof stamps.takeLooseDebris>,
  sink: CollectingSink,
  runner: TaskRunner,
): Promise<{ repositoriesReread: number; fansReread: number }> {
  const reads: WalkTask[] = [];
  for (const f of now.repositories.values()) {
    if (unchanged.has(f)) continue;
    const old = prev.repos.get(f.name);
    if (old) stamps.deleteRepository(db, old.id);
    reads.push({ kind: 'repository', name: f.name, parts: f.parts });
  }
  const repositoriesReread = reads.length;
  const keptFans = new Set<string>();
  for (const f of now.fans) {
    if (unchanged.has(f)) {
      keptFans.add(fanKey(f));
      continue;
    }
    if (prev.fans.has(fanKey(f))) stamps.deleteFan(db, scanId, f.alg, f.fan);
    reads.push({ kind: 'blobFan', alg: f.alg, fan: f.fan });
  }
  const fansReread = reads.length - repositoriesReread;
  await runner.drain(reads, sink, { onStart: sink.taskStarting });

  for (const [name, old] of prev.repos) if (!now.repositories.has(name)) stamps.deleteRepository(db, old.id);
  const seenFans = new Set(now.fans.map(fanKey));
  for (const key of prev.fans.keys()) {
    if (seenFans.has(key)) continue;
    const [alg, fan] = key.split('/') as [string, string];
    stamps.deleteFan(db, scanId, alg, fan);
  }
  // Debris inside a fan-out directory kept as it is was not found again by this walk: kept too.
  for (const d of looseDebris) {
    const [, alg, fan] = d.path.split('/');
    if (d.path.startsWith(`${BLOBS}/`) && keptFans.has(`${alg}/${fan}`) && d.path.split('/').length > 3)
      writer.debris(d);
  }
  return { repositoriesReread, fansReread };
}

/** Phase 4: read the manifests not parsed yet (or missing/unreadable last time); drop the unneeded. */
async function refreshManifests(db: DB, scanId: number, sink: CollectingSink, runner: TaskRunner): Promise<number> {
  const toRead = stamps.manifestsToRead(db, scanId) as Digest[];
  // The rows of a manifest read again go first.
  stamps.deleteManifests(db, scanId, toRead);
  await runner.drain(manifestTasksFor(toRead), sink);
  stamps.deleteUnlinkedManifests(db, scanId);
  return toRead.length;
}

export async function rescanInPlace(
  db: DB,
  ctx: WalkContext,
  scanId: number,
  writer: IndexWriter,
  sink: CollectingSink,
  runner: TaskRunner,
): Promise<RescanStats> {
  const prev: Previous = { repos: stamps.repositoryStamps(db, scanId), fans: stamps.fanStamps(db, scanId) };
  // Debris outside repositories is found again by this walk, except inside fan directories kept as they are.
  const looseDebris = stamps.takeLooseDebris(db, scanId);
  const now = listStorage(ctx, sink);
  const unchanged = await unchangedSince(
    db,
    ctx,
    scanId,
    prev,
    [...now.repositories.values(), ...now.fans],
    sink,
    runner,
  );
  const reread = await rereadChanged(db, scanId, prev, now, unchanged, writer, looseDebris, sink, runner);
  const manifestsRead = await refreshManifests(db, scanId, sink, runner);
  return {
    repositories: now.repositories.size,
    fans: now.fans.length,
    ...reread,
    manifestsRead,
  };
}

/** Paths per verify task: enough to amortise a message, small enough to spread over the workers. */
const VERIFY_BATCH_PATHS = 4096;
