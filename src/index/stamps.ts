/** Index reads and deletes for the incremental rescan (scan/rescan.ts). */
import type { DB } from './open.js';
import type { DebrisRecord } from './records.js';

export interface RepositoryStampRow {
  id: number;
  hasLayers: boolean;
  hasManifests: boolean;
  hasUploads: boolean;
  stamp: string | null;
  extra: string[];
}

/** A repository's stamp columns as stored; STAMP_COLUMNS selects them under these names. */
export interface StoredStamp {
  hasLayers: number;
  hasManifests: number;
  hasUploads: number;
  stamp: string | null;
  extra: string | null;
}

export const STAMP_COLUMNS =
  'has_layers AS hasLayers, has_manifests AS hasManifests, has_uploads AS hasUploads, stamp, extra';

/** The stamp columns decoded (the rescan and gc's guard compare the storage with these). */
export function stampFields(r: StoredStamp): Omit<RepositoryStampRow, 'id'> {
  return {
    hasLayers: r.hasLayers === 1,
    hasManifests: r.hasManifests === 1,
    hasUploads: r.hasUploads === 1,
    stamp: r.stamp,
    extra: r.extra ? (JSON.parse(r.extra) as string[]) : [],
  };
}

export function repositoryStamps(db: DB, scanId: number): Map<string, RepositoryStampRow> {
  const rows = db.prepare(`SELECT id, name, ${STAMP_COLUMNS} FROM repositories WHERE scan_id = ?`).all(scanId) as Array<
    StoredStamp & { id: number; name: string }
  >;
  return new Map(rows.map((r) => [r.name, { id: r.id, ...stampFields(r) }]));
}

/** The rows of one repository that imply paths on disk. */
export function repositoryRows(
  db: DB,
  repoId: number,
): {
  tags: string[];
  links: Array<{ kind: string; tag: string | null; pathDigest: string | null }>;
} {
  return {
    tags: db.prepare(`SELECT name FROM tags WHERE repo_id = ?`).pluck().all(repoId) as string[],
    links: db.prepare(`SELECT kind, tag, path_digest AS pathDigest FROM links WHERE repo_id = ?`).all(repoId) as Array<{
      kind: string;
      tag: string | null;
      pathDigest: string | null;
    }>,
  };
}

export function deleteRepository(db: DB, repoId: number): void {
  db.prepare(`DELETE FROM repositories WHERE id = ?`).run(repoId);
}

export function fanStamps(db: DB, scanId: number): Map<string, { stamp: string; extra: string[] }> {
  const rows = db.prepare(`SELECT alg, fan, stamp, extra FROM blob_fans WHERE scan_id = ?`).all(scanId) as Array<{
    alg: string;
    fan: string;
    stamp: string;
    extra: string;
  }>;
  return new Map(rows.map((r) => [`${r.alg}/${r.fan}`, { stamp: r.stamp, extra: JSON.parse(r.extra) as string[] }]));
}

/** Digest range of one fan-out directory: `<alg>:<fan>…` ('~' sorts after every hex digit). */
const range = (alg: string, fan: string): [string, string] => [`${alg}:${fan}`, `${alg}:${fan}~`];

export function fanDigests(db: DB, scanId: number, alg: string, fan: string): string[] {
  return db
    .prepare(`SELECT digest FROM blobs WHERE scan_id = ? AND digest >= ? AND digest < ?`)
    .pluck()
    .all(scanId, ...range(alg, fan)) as string[];
}

export function deleteFan(db: DB, scanId: number, alg: string, fan: string): void {
  db.prepare(`DELETE FROM blobs WHERE scan_id = ? AND digest >= ? AND digest < ?`).run(scanId, ...range(alg, fan));
  db.prepare(`DELETE FROM blob_fans WHERE scan_id = ? AND alg = ? AND fan = ?`).run(scanId, alg, fan);
}

/** Removes and returns the debris rows that belong to no repository. */
export function takeLooseDebris(db: DB, scanId: number): DebrisRecord[] {
  const rows = db
    .prepare(`SELECT path, kind, detail FROM debris WHERE scan_id = ? AND repo_id IS NULL`)
    .all(scanId) as DebrisRecord[];
  db.prepare(`DELETE FROM debris WHERE scan_id = ? AND repo_id IS NULL`).run(scanId);
  return rows;
}

/**
 * The revision digests (distinct, in digest order) whose manifest a rescan must read: never read,
 * missing or unreadable last time, or parsed while its blob is gone now. One query, so that a
 * rescan holds no list of every revision (112 k digests on the large benchmark tree).
 */
export function manifestsToRead(db: DB, scanId: number): string[] {
  return db
    .prepare(
      `SELECT DISTINCT l.digest FROM links l JOIN repositories r ON r.id = l.repo_id
       WHERE r.scan_id = :scan AND l.kind = 'revision' AND l.digest IS NOT NULL
         AND NOT (EXISTS (SELECT 1 FROM manifests m WHERE m.scan_id = :scan AND m.digest = l.digest
                          AND (m.problem IS NULL OR m.problem NOT IN ('missing', 'unreadable')))
                  AND EXISTS (SELECT 1 FROM blobs b WHERE b.scan_id = :scan AND b.digest = l.digest))
       ORDER BY l.digest`,
    )
    .pluck()
    .all({ scan: scanId }) as string[];
}

/** Deletes the rows of these manifests and their references (none for a digest never read). */
export function deleteManifests(db: DB, scanId: number, digests: readonly string[]): void {
  const refs = db.prepare(`DELETE FROM manifest_refs WHERE scan_id = ? AND manifest_digest = ?`);
  const rows = db.prepare(`DELETE FROM manifests WHERE scan_id = ? AND digest = ?`);
  for (const d of digests) {
    refs.run(scanId, d);
    rows.run(scanId, d);
  }
}

/** Drops the manifests (and their references) that no revision link of the scan names any more. */
export function deleteUnlinkedManifests(db: DB, scanId: number): void {
  const unlinked = db
    .prepare(
      `SELECT m.digest FROM manifests m WHERE m.scan_id = :scan AND NOT EXISTS (
         SELECT 1 FROM links l JOIN repositories r ON r.id = l.repo_id
         WHERE l.digest = m.digest AND l.kind = 'revision' AND r.scan_id = :scan)`,
    )
    .pluck()
    .all({ scan: scanId }) as string[];
  deleteManifests(db, scanId, unlinked);
}
