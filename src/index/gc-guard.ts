/**
 * What `regaudit gc --apply` compares the storage with before it changes anything: each repository
 * as the scan saw it (its stamp, the rows that imply its paths, the digests its links name).
 */
import type { ReadableDB } from './open.js';

export interface GcGuardLink {
  kind: 'layer' | 'revision' | 'tag-current' | 'tag-index';
  tag: string | null;
  pathDigest: string | null;
  digest: string | null;
}

export interface GcGuardRepository {
  name: string;
  entries: number;
  newestMtimeMs: number;
  hasLayers: boolean;
  hasManifests: boolean;
  hasUploads: boolean;
  /** The scan's stamp of the repository (see scan/stamp.ts); null in an index written before stamps. */
  stamp: string | null;
  /** Paths the stamp covers that the rows below do not imply. */
  extra: string[];
  tags: string[];
  links: GcGuardLink[];
}

export function gcGuardRepositories(db: ReadableDB, scanId: number): GcGuardRepository[] {
  const repos = db
    .prepare(
      `SELECT id, name, entries, newest_mtime_ms AS newestMtimeMs, has_layers AS hasLayers, has_manifests AS hasManifests,
         has_uploads AS hasUploads, stamp, extra
       FROM repositories WHERE scan_id = ? ORDER BY name`,
    )
    .all(scanId) as Array<{
    id: number;
    name: string;
    entries: number;
    newestMtimeMs: number;
    hasLayers: number;
    hasManifests: number;
    hasUploads: number;
    stamp: string | null;
    extra: string | null;
  }>;
  const tags = new Map<number, string[]>();
  const tagRows = db
    .prepare(
      `SELECT t.repo_id AS repoId, t.name FROM tags t JOIN repositories r ON r.id = t.repo_id WHERE r.scan_id = ?`,
    )
    .all(scanId) as Array<{ repoId: number; name: string }>;
  for (const t of tagRows) (tags.get(t.repoId) ?? tags.set(t.repoId, []).get(t.repoId)!).push(t.name);
  const links = new Map<number, GcGuardLink[]>();
  const linkRows = db
    .prepare(
      `SELECT l.repo_id AS repoId, l.kind, l.tag, l.path_digest AS pathDigest, l.digest
       FROM links l JOIN repositories r ON r.id = l.repo_id WHERE r.scan_id = ?`,
    )
    .all(scanId) as Array<GcGuardLink & { repoId: number }>;
  for (const { repoId, ...l } of linkRows) (links.get(repoId) ?? links.set(repoId, []).get(repoId)!).push(l);
  return repos.map((r) => ({
    name: r.name,
    entries: r.entries,
    newestMtimeMs: r.newestMtimeMs,
    hasLayers: r.hasLayers === 1,
    hasManifests: r.hasManifests === 1,
    hasUploads: r.hasUploads === 1,
    stamp: r.stamp,
    extra: r.extra ? (JSON.parse(r.extra) as string[]) : [],
    tags: tags.get(r.id) ?? [],
    links: links.get(r.id) ?? [],
  }));
}
