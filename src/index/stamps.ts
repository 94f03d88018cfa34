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

export function revisionDigests(db: DB, scanId: number): string[] {
  return db
    .prepare(
      `SELECT DISTINCT l.digest FROM links l JOIN repositories r ON r.id = l.repo_id
       WHERE r.scan_id = ? AND l.kind = 'revision' AND l.digest IS NOT NULL ORDER BY l.digest`,
    )
    .pluck()
    .all(scanId) as string[];
}

/** digest → true when parsed for good (content-addressed: never changes), false when worth retrying. */
export function parsedManifests(db: DB, scanId: number): Map<string, boolean> {
  const rows = db.prepare(`SELECT digest, problem FROM manifests WHERE scan_id = ?`).all(scanId) as Array<{
    digest: string;
    problem: string | null;
  }>;
  return new Map(rows.map((r) => [r.digest, r.problem !== 'missing' && r.problem !== 'unreadable']));
}

export function deleteManifest(db: DB, scanId: number, digest: string): void {
  db.prepare(`DELETE FROM manifest_refs WHERE scan_id = ? AND manifest_digest = ?`).run(scanId, digest);
  db.prepare(`DELETE FROM manifests WHERE scan_id = ? AND digest = ?`).run(scanId, digest);
}

export function deleteManifestsExcept(db: DB, scanId: number, keep: readonly string[]): void {
  const keepSet = new Set(keep);
  const all = db.prepare(`SELECT digest FROM manifests WHERE scan_id = ?`).pluck().all(scanId) as string[];
  for (const d of all) if (!keepSet.has(d)) deleteManifest(db, scanId, d);
}

export function blobPresence(db: DB, scanId: number): (digest: string) => boolean {
  const stmt = db.prepare(`SELECT 1 FROM blobs WHERE scan_id = ? AND digest = ?`).pluck();
  return (digest) => stmt.get(scanId, digest) !== undefined;
}
