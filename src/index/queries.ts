/** Read queries over one scan. Each returns plain rows; the audit turns them into findings. */
import type { ReadableDB } from './open.js';

export interface RepositoryRow {
  id: number;
  name: string;
  nameProblem: string | null;
  hasLayers: boolean;
  hasManifests: boolean;
  hasUploads: boolean;
  newestMtimeMs: number;
  entries: number;
  problem: string | null;
  tagDirs: number;
  /** current/link files, valid or not. */
  tagLinks: number;
  /** Tags whose current link names a revision link present in the repository. */
  liveTags: number;
  /** Revision link files, valid or not. */
  revisions: number;
  layerLinks: number;
  uploads: number;
  /** Newest upload activity (startedat or any file in it), 0 when none. */
  newestUploadMs: number;
}

export function repositories(db: ReadableDB, scanId: number): RepositoryRow[] {
  const rows = db
    .prepare(
      `SELECT r.id, r.name, r.name_problem AS nameProblem, r.has_layers AS hasLayers, r.has_manifests AS hasManifests,
         r.has_uploads AS hasUploads, r.newest_mtime_ms AS newestMtimeMs, r.entries, r.problem,
         (SELECT count(*) FROM tags t WHERE t.repo_id = r.id) AS tagDirs,
         (SELECT count(*) FROM links l WHERE l.repo_id = r.id AND l.kind = 'tag-current') AS tagLinks,
         (SELECT count(*) FROM links l WHERE l.repo_id = r.id AND l.kind = 'tag-current' AND l.digest IS NOT NULL
            AND EXISTS (SELECT 1 FROM links v WHERE v.repo_id = r.id AND v.kind = 'revision' AND v.path_digest = l.digest
                          AND v.digest IS NOT NULL)) AS liveTags,
         (SELECT count(*) FROM links l WHERE l.repo_id = r.id AND l.kind = 'revision') AS revisions,
         (SELECT count(*) FROM links l WHERE l.repo_id = r.id AND l.kind = 'layer') AS layerLinks,
         (SELECT count(*) FROM uploads u WHERE u.repo_id = r.id) AS uploads,
         (SELECT coalesce(max(max(u.mtime_ms, coalesce(u.started_ms, 0))), 0) FROM uploads u WHERE u.repo_id = r.id) AS newestUploadMs
       FROM repositories r WHERE r.scan_id = ? ORDER BY r.name`,
    )
    .all(scanId) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    ...(r as unknown as RepositoryRow),
    hasLayers: r.hasLayers === 1,
    hasManifests: r.hasManifests === 1,
    hasUploads: r.hasUploads === 1,
  }));
}

export interface TagRow {
  repository: string;
  tag: string;
  /** Parsed current link; null when missing or invalid. */
  current: string | null;
  currentProblem: string | null;
  hasCurrentLink: boolean;
  revisionPresent: boolean;
  blobPresent: boolean;
}

/** Every tag directory that is not live (no current link, or one whose revision or blob is gone). */
export function tags(db: ReadableDB, scanId: number): TagRow[] {
  const rows = db
    .prepare(
      `SELECT r.name AS repository, t.name AS tag, l.digest AS current, l.problem AS currentProblem,
         (l.repo_id IS NOT NULL) AS hasCurrentLink,
         EXISTS (SELECT 1 FROM links v WHERE v.repo_id = r.id AND v.kind = 'revision' AND v.path_digest = l.digest AND v.digest IS NOT NULL) AS revisionPresent,
         EXISTS (SELECT 1 FROM blobs b WHERE b.scan_id = r.scan_id AND b.digest = l.digest) AS blobPresent
       FROM repositories r
       JOIN tags t ON t.repo_id = r.id
       LEFT JOIN links l ON l.repo_id = r.id AND l.kind = 'tag-current' AND l.tag = t.name
       WHERE r.scan_id = ? AND NOT (revisionPresent AND blobPresent)
       ORDER BY r.name, t.name`,
    )
    .all(scanId) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    ...(r as unknown as TagRow),
    hasCurrentLink: r.hasCurrentLink === 1,
    revisionPresent: r.revisionPresent === 1,
    blobPresent: r.blobPresent === 1,
  }));
}

export interface LinkRow {
  repository: string;
  kind: string;
  tag: string | null;
  pathDigest: string | null;
  digest: string | null;
  problem: string | null;
  raw: string | null;
  size: number;
}

const LINK_COLUMNS = `r.name AS repository, l.kind, l.tag, l.path_digest AS pathDigest, l.digest, l.problem, l.raw, l.size`;

/** Links whose content is not a digest, or names another digest than their path. */
export function badLinks(db: ReadableDB, scanId: number): LinkRow[] {
  return db
    .prepare(
      `SELECT ${LINK_COLUMNS} FROM repositories r JOIN links l INDEXED BY links_bad ON l.repo_id = r.id
       WHERE r.scan_id = ? AND (l.problem IS NOT NULL OR (l.path_digest IS NOT NULL AND l.digest <> l.path_digest))
       ORDER BY r.name, l.kind, l.tag, l.path_digest`,
    )
    .all(scanId) as LinkRow[];
}

/**
 * Layer links whose content names a blob that is not in blobs/: found from `held`, which has a row,
 * with a NULL size when the blob is missing, for the content of every layer link (derive.ts).
 */
export function danglingLayerLinks(db: ReadableDB, scanId: number): LinkRow[] {
  return db
    .prepare(
      `SELECT ${LINK_COLUMNS} FROM repositories r
       JOIN held h INDEXED BY held_missing ON h.repo_id = r.id AND h.size IS NULL
       JOIN links l ON l.repo_id = h.repo_id AND l.kind = 'layer' AND l.digest = h.digest
       WHERE r.scan_id = ?
       ORDER BY r.name, l.path_digest`,
    )
    .all(scanId) as LinkRow[];
}

/** Revision links whose manifest blob is not in blobs/. */
export function revisionsWithoutBlob(db: ReadableDB, scanId: number): LinkRow[] {
  return db
    .prepare(
      `SELECT ${LINK_COLUMNS} FROM links l JOIN repositories r ON r.id = l.repo_id
       WHERE r.scan_id = ? AND l.kind = 'revision' AND l.digest IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.scan_id = r.scan_id AND b.digest = l.digest)
       ORDER BY r.name, l.path_digest`,
    )
    .all(scanId) as LinkRow[];
}

export interface UploadRow {
  repository: string;
  id: string;
  startedAt: string | null;
  startedMs: number | null;
  size: number;
  mtimeMs: number;
}

export function uploads(db: ReadableDB, scanId: number): UploadRow[] {
  return db
    .prepare(
      `SELECT r.name AS repository, u.upload_id AS id, u.started_at AS startedAt, u.started_ms AS startedMs, u.size, u.mtime_ms AS mtimeMs
       FROM uploads u JOIN repositories r ON r.id = u.repo_id WHERE r.scan_id = ? ORDER BY r.name, u.upload_id`,
    )
    .all(scanId) as UploadRow[];
}

export interface DebrisRow {
  repository: string | null;
  path: string;
  kind: string;
  detail: string | null;
}

export function debris(db: ReadableDB, scanId: number): DebrisRow[] {
  return db
    .prepare(
      `SELECT r.name AS repository, d.path, d.kind, d.detail FROM debris d LEFT JOIN repositories r ON r.id = d.repo_id
       WHERE d.scan_id = ? ORDER BY d.path, d.kind`,
    )
    .all(scanId) as DebrisRow[];
}
