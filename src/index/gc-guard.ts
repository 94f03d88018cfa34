/**
 * What `regaudit gc --apply` compares the storage with before it changes anything: each repository
 * as the scan saw it (its stamp, the rows that imply its paths, the digests its links name).
 *
 * Read one repository at a time, when the guard asks: on the large benchmark tree (8 k repositories,
 * 1.25 M links) holding every repository's rows between the guard's two checks took 765 MB.
 */
import type { ReadableDB } from './open.js';
import { STAMP_COLUMNS, stampFields, type StoredStamp } from './stamps.js';

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

/** The repositories of one scan, each read from the index when asked for (the same rows each time). */
export interface GcGuardRepositories {
  /** Every repository name of the scan, sorted. */
  names(): readonly string[];
  get(name: string): GcGuardRepository | undefined;
}

interface RepositoryRow extends StoredStamp {
  id: number;
  name: string;
  entries: number;
  newestMtimeMs: number;
}

/** What the bucket applier compares with the scan: one small row per repository. */
export function gcScannedRepositories(
  db: ReadableDB,
  scanId: number,
): Array<Pick<GcGuardRepository, 'name' | 'entries' | 'newestMtimeMs'>> {
  return db
    .prepare(`SELECT name, entries, newest_mtime_ms AS newestMtimeMs FROM repositories WHERE scan_id = ? ORDER BY name`)
    .all(scanId) as Array<Pick<GcGuardRepository, 'name' | 'entries' | 'newestMtimeMs'>>;
}

export function gcGuardRepositories(db: ReadableDB, scanId: number): GcGuardRepositories {
  const repos = db
    .prepare(
      `SELECT id, name, entries, newest_mtime_ms AS newestMtimeMs, ${STAMP_COLUMNS}
       FROM repositories WHERE scan_id = ? ORDER BY name`,
    )
    .all(scanId) as RepositoryRow[];
  const byName = new Map(repos.map((r) => [r.name, r]));
  const names = repos.map((r) => r.name);
  // Ordered, so that two reads of a repository list its stamp paths in the same order.
  const tags = db.prepare(`SELECT name FROM tags WHERE repo_id = ? ORDER BY name`).pluck();
  const links = db.prepare(
    `SELECT kind, tag, path_digest AS pathDigest, digest FROM links WHERE repo_id = ?
     ORDER BY kind, tag, path_digest, digest`,
  );
  return {
    names: () => names,
    get(name) {
      const r = byName.get(name);
      if (!r) return undefined;
      return {
        name: r.name,
        entries: r.entries,
        newestMtimeMs: r.newestMtimeMs,
        ...stampFields(r),
        tags: tags.all(r.id) as string[],
        links: links.all(r.id) as GcGuardLink[],
      };
    },
  };
}
