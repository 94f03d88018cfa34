/**
 * The incremental rescan: updates the previous scan of a root in place, inside one transaction.
 * Namespace directories are always listed (new and removed repositories show there); a repository
 * or blob fan-out directory whose stamp still matches (scan/stamp.ts) keeps its rows; anything
 * else is read again exactly as a full scan reads it. Manifests are content-addressed, so one
 * already parsed is not read again.
 */
import type { DB } from '../index/open.js';
import * as stamps from '../index/stamps.js';
import type { IndexWriter } from '../index/writes.js';
import { BLOBS, REPOSITORIES, type RepositoryPart } from '../layout/paths.js';
import type { Digest } from '../layout/digest.js';
import { derivedFanPaths, derivedRepositoryPaths } from './stamp.js';
import {
  initialTasks,
  manifestTasksFor,
  namespace,
  type CollectingSink,
  type RepositoryReader,
  type TaskRunner,
  type VerifyItem,
  type WalkContext,
  type WalkTask,
} from './walk.js';

export interface RescanStats {
  repositories: number;
  repositoriesReread: number;
  fans: number;
  fansReread: number;
  manifestsRead: number;
}

export async function rescanInPlace(
  db: DB,
  ctx: WalkContext,
  scanId: number,
  writer: IndexWriter,
  sink: CollectingSink,
  runner: TaskRunner,
): Promise<RescanStats> {
  const { v2 } = ctx;
  const stats: RescanStats = { repositories: 0, repositoriesReread: 0, fans: 0, fansReread: 0, manifestsRead: 0 };
  const oldRepos = stamps.repositoryStamps(db, scanId);
  const oldFans = stamps.fanStamps(db, scanId);
  // Debris outside repositories is found again by this walk, except inside fan directories kept as they are.
  const looseDebris = stamps.takeLooseDebris(db, scanId);

  // 1. Namespace directories are listed (new and removed repositories show there); parts are not read.
  const found = new Map<string, Array<[RepositoryPart, string]>>();
  const record: RepositoryReader = (_abs, name, parts) => {
    found.set(name, [...parts]);
    return null;
  };
  const fanTasks: Array<{ alg: string; fan: string }> = [];
  const queue: WalkTask[] = initialTasks(ctx, sink).reverse();
  for (let task = queue.pop(); task; task = queue.pop()) {
    if (task.kind === 'namespace')
      for (const child of namespace(ctx, task.name, sink, record).reverse()) queue.push(child);
    else if (task.kind === 'blobFan') fanTasks.push(task);
  }
  stats.repositories = found.size;
  stats.fans = fanTasks.length;

  // 2. Stamps still valid? Checked on the workers; only the stats, no listing, no reads.
  // Items are built as the runner asks for them: their path lists are the bulk of a rescan's memory.
  const verified = new Set<string>();
  function* verifyItems(): Generator<VerifyItem> {
    for (const [name, parts] of found) {
      const old = oldRepos.get(name);
      if (!old || old.stamp === null) continue;
      const isDir = (p: RepositoryPart): boolean => parts.some(([n, t]) => n === p && t === 'dir');
      if (
        isDir('_layers') !== old.hasLayers ||
        isDir('_manifests') !== old.hasManifests ||
        isDir('_uploads') !== old.hasUploads
      )
        continue;
      const paths = [...derivedRepositoryPaths({ ...old, ...stamps.repositoryRows(db, old.id) }), ...old.extra];
      verified.add(`r:${name}`);
      yield { key: `r:${name}`, base: `${v2}/${REPOSITORIES}/${name}`, paths, stamp: old.stamp };
    }
    for (const { alg, fan } of fanTasks) {
      const old = oldFans.get(`${alg}/${fan}`);
      if (!old) continue;
      const paths = [...derivedFanPaths(stamps.fanDigests(db, scanId, alg, fan)), ...old.extra];
      verified.add(`f:${alg}/${fan}`);
      yield { key: `f:${alg}/${fan}`, base: `${v2}/${BLOBS}/${alg}/${fan}`, paths, stamp: old.stamp };
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
  const changed = new Set<string>();
  await runner.drain(verifyTasks(), sink, (r) => r.changed.forEach((k) => changed.add(k)));
  const keep = (key: string): boolean => verified.has(key) && !changed.has(key);

  // 3. Everything else is read again, exactly as a full scan reads it.
  const reads: WalkTask[] = [];
  for (const [name, parts] of found) {
    if (keep(`r:${name}`)) continue;
    const old = oldRepos.get(name);
    if (old) stamps.deleteRepository(db, old.id);
    reads.push({ kind: 'repository', name, parts });
  }
  const keptFans = new Set<string>();
  for (const { alg, fan } of fanTasks) {
    const key = `${alg}/${fan}`;
    if (keep(`f:${key}`)) {
      keptFans.add(key);
      continue;
    }
    if (oldFans.has(key)) stamps.deleteFan(db, scanId, alg, fan);
    reads.push({ kind: 'blobFan', alg, fan });
  }
  stats.repositoriesReread = reads.filter((t) => t.kind === 'repository').length;
  stats.fansReread = reads.length - stats.repositoriesReread;
  await runner.drain(reads, sink);

  for (const [name, old] of oldRepos) if (!found.has(name)) stamps.deleteRepository(db, old.id);
  const seenFans = new Set(fanTasks.map((f) => `${f.alg}/${f.fan}`));
  for (const key of oldFans.keys()) {
    if (seenFans.has(key)) continue;
    const [alg, fan] = key.split('/') as [string, string];
    stamps.deleteFan(db, scanId, alg, fan);
  }
  for (const d of looseDebris) {
    const [, alg, fan] = d.path.split('/');
    if (d.path.startsWith(`${BLOBS}/`) && keptFans.has(`${alg}/${fan}`) && d.path.split('/').length > 3)
      writer.debris(d);
  }

  // 4. Manifests: read the ones not parsed yet (or missing/unreadable last time); drop the unneeded.
  const wanted = stamps.revisionDigests(db, scanId);
  const parsed = stamps.parsedManifests(db, scanId);
  const hasBlob = stamps.blobPresence(db, scanId);
  const toRead: Digest[] = [];
  for (const d of wanted) {
    const settled = parsed.get(d);
    if (settled === true && hasBlob(d)) continue;
    if (settled !== undefined) stamps.deleteManifest(db, scanId, d);
    toRead.push(d as Digest);
  }
  stats.manifestsRead = toRead.length;
  await runner.drain(manifestTasksFor(toRead), sink);
  stamps.deleteManifestsExcept(db, scanId, wanted);
  return stats;
}

/** Paths per verify task: enough to amortise a message, small enough to spread over the workers. */
const VERIFY_BATCH_PATHS = 4096;
