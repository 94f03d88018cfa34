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
import { BLOBS } from '../layout/paths.js';
import type { Digest } from '../layout/digest.js';
import { readRepository } from './read-repository.js';
import { derivedFanPaths, derivedRepositoryPaths, stampStillValid } from './stamp.js';
import { blobFan, initialTasks, namespace, readManifest, type CollectingSink, type RepositoryReader, type WalkTask } from './walk.js';

export interface RescanStats {
  repositories: number;
  repositoriesReread: number;
  fans: number;
  fansReread: number;
  manifestsRead: number;
}

export function rescanInPlace(db: DB, v2: string, scanId: number, writer: IndexWriter, sink: CollectingSink): RescanStats {
  const stats: RescanStats = { repositories: 0, repositoriesReread: 0, fans: 0, fansReread: 0, manifestsRead: 0 };
  const oldRepos = stamps.repositoryStamps(db, scanId);
  const oldFans = stamps.fanStamps(db, scanId);
  // Debris outside repositories is found again by this walk, except inside fan directories kept as they are.
  const looseDebris = stamps.takeLooseDebris(db, scanId);
  const seenRepos = new Set<string>();
  const seenFans = new Set<string>();
  const keptFans = new Set<string>();

  const reader: RepositoryReader = (abs, name, parts) => {
    seenRepos.add(name);
    stats.repositories++;
    const old = oldRepos.get(name);
    if (old && old.stamp !== null) {
      const isDir = (p: '_layers' | '_manifests' | '_uploads'): boolean => parts.get(p) === 'dir';
      const sameParts = isDir('_layers') === old.hasLayers && isDir('_manifests') === old.hasManifests && isDir('_uploads') === old.hasUploads;
      const derived = derivedRepositoryPaths({ ...old, ...stamps.repositoryRows(db, old.id) });
      if (sameParts && stampStillValid(abs, derived, old.extra, old.stamp)) return null;
    }
    if (old) stamps.deleteRepository(db, old.id);
    stats.repositoriesReread++;
    return readRepository(abs, name, parts);
  };

  const queue: WalkTask[] = initialTasks(v2, sink).reverse();
  for (let task = queue.pop(); task; task = queue.pop()) {
    if (task.kind === 'namespace') {
      for (const child of namespace(v2, task.name, sink, reader).reverse()) queue.push(child);
      continue;
    }
    if (task.kind !== 'blobFan') continue;
    const key = `${task.alg}/${task.fan}`;
    seenFans.add(key);
    stats.fans++;
    const old = oldFans.get(key);
    if (old) {
      const digests = stamps.fanDigests(db, scanId, task.alg, task.fan);
      if (stampStillValid(`${v2}/${BLOBS}/${key}`, derivedFanPaths(digests), old.extra, old.stamp)) {
        keptFans.add(key);
        continue;
      }
      stamps.deleteFan(db, scanId, task.alg, task.fan);
    }
    stats.fansReread++;
    blobFan(v2, task.alg, task.fan, sink);
  }
  for (const [name, old] of oldRepos) if (!seenRepos.has(name)) stamps.deleteRepository(db, old.id);
  for (const key of oldFans.keys()) {
    if (seenFans.has(key)) continue;
    const [alg, fan] = key.split('/') as [string, string];
    stamps.deleteFan(db, scanId, alg, fan);
  }
  for (const d of looseDebris) {
    const [, alg, fan] = d.path.split('/');
    if (d.path.startsWith(`${BLOBS}/`) && keptFans.has(`${alg}/${fan}`) && d.path.split('/').length > 3) writer.debris(d);
  }

  // Manifests: read the ones not parsed yet (or missing/unreadable last time); drop the unneeded.
  const wanted = stamps.revisionDigests(db, scanId);
  const parsed = stamps.parsedManifests(db, scanId);
  const hasBlob = stamps.blobPresence(db, scanId);
  for (const d of wanted) {
    const settled = parsed.get(d);
    if (settled === true && hasBlob(d)) continue;
    if (settled !== undefined) stamps.deleteManifest(db, scanId, d);
    writer.manifest(readManifest(v2, d as Digest));
    stats.manifestsRead++;
  }
  stamps.deleteManifestsExcept(db, scanId, wanted);
  return stats;
}
