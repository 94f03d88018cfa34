/**
 * Read queries over the manifest graph of one scan (`held`, derived when the scan completed, see
 * derive.ts). Each returns plain rows; the audit rules in src/audit/graph-rules.ts turn them into
 * findings. Every query walks the scan's repositories and seeks by primary key, so its cost is
 * linear in what it returns plus one pass over `held`.
 */
import type { ReadableDB } from './open.js';

const tagsOf = (repo: string, digest: string, kind: 'tag-current' | 'tag-index'): string =>
  `(SELECT group_concat(t.tag, ', ') FROM links t WHERE t.repo_id = ${repo} AND t.kind = '${kind}' AND t.digest = ${digest})`;

export interface UntaggedManifestRow {
  repository: string;
  digest: string;
  size: number;
  /** Digest of the manifest's OCI subject when it is a referrer (signature, SBOM…). */
  subject: string | null;
}

/** Revisions with a manifest blob that no tag of their repository keeps alive, directly or as an index/list child. */
export function untaggedManifests(db: ReadableDB, scanId: number): UntaggedManifestRow[] {
  return db
    .prepare(
      `SELECT r.name AS repository, h.digest, h.size,
         (SELECT s.ref_digest FROM manifest_refs s INDEXED BY refs_subject WHERE s.scan_id = :scan AND s.manifest_digest = h.digest AND s.role = 'subject') AS subject
       FROM repositories r JOIN held h INDEXED BY held_untagged ON h.repo_id = r.id
       WHERE r.scan_id = :scan AND h.revision = 1 AND h.live = 0
       ORDER BY r.name, h.digest`,
    )
    .all({ scan: scanId }) as UntaggedManifestRow[];
}

export interface NeededRefRow {
  repository: string;
  digest: string;
  role: string;
  /** Blob size when present, else the size the referencing descriptor declares. */
  size: number | null;
  /** The blob is in blobs/. */
  blobPresent: boolean;
  /** Manifests of the repository that reference it, and their platforms (for index children). */
  manifests: string;
  platforms: string | null;
  /** Tags whose current manifest references it directly. */
  tags: string | null;
}

/**
 * Which of the repository's revisions reference h.digest: walked from the repository's revisions
 * (a missing base layer is referenced by every image of the store; walking its references would
 * cost that many rows per finding).
 */
const referring = (what: string, extra = ''): string => `
  (SELECT group_concat(DISTINCT ${what}) FROM held v
   CROSS JOIN manifest_refs m INDEXED BY refs_by_manifest ON m.scan_id = :scan AND m.manifest_digest = v.digest AND m.ref_digest = h.digest
   ${extra}
   WHERE v.repo_id = h.repo_id AND v.revision = 1 AND m.role <> 'subject')`;

const REFERRERS = `
  ${referring('m.manifest_digest')} AS manifests,
  ${referring('m.platform')} AS platforms,
  ${referring('t.tag', `JOIN links t ON t.repo_id = v.repo_id AND t.kind = 'tag-current' AND t.digest = v.digest`)} AS tags,
  (SELECT m.size FROM manifest_refs m WHERE m.scan_id = :scan AND m.ref_digest = h.digest AND m.size IS NOT NULL LIMIT 1) AS declared`;

function neededRefs(db: ReadableDB, scanId: number, where: string): NeededRefRow[] {
  const rows = db
    .prepare(
      `SELECT r.name AS repository, h.digest, CASE WHEN h.needs_link = 1 THEN 'blob' ELSE 'child' END AS role,
         h.size AS blobSize, ${REFERRERS}
       FROM repositories r JOIN held h ON h.repo_id = r.id
       WHERE r.scan_id = :scan AND ${where}
       ORDER BY r.name, h.digest`,
    )
    .all({ scan: scanId }) as Array<
    Omit<NeededRefRow, 'blobPresent' | 'size'> & { blobSize: number | null; declared: number | null }
  >;
  return rows.map(({ blobSize, declared, ...r }) => ({
    ...r,
    size: blobSize ?? declared,
    blobPresent: blobSize !== null,
  }));
}

/**
 * References the registry cannot serve: a config, layer or blobSum (not foreign) with no data in
 * blobs/, and an index/list child that is not a revision of the same repository with its blob.
 */
export function missingReferences(db: ReadableDB, scanId: number): NeededRefRow[] {
  return neededRefs(
    db,
    scanId,
    `((h.needs_link = 1 AND h.size IS NULL) OR (h.child = 1 AND h.revision = 0 AND h.needs_link = 0))`,
  );
}

/** Blobs a manifest of the repository needs that exist but have no `_layers` link there (BLOB_UNKNOWN). */
export function unlinkedReferences(db: ReadableDB, scanId: number): NeededRefRow[] {
  return neededRefs(db, scanId, `h.needs_link = 1 AND h.size IS NOT NULL AND h.linked = 0`);
}

/** (repo_id, digest, problem) of revisions whose manifest blob exists but could not be read or parsed. */
const UNREADABLE_REVISIONS = `
  SELECT l.repo_id, l.digest, m.problem, m.size FROM manifests m INDEXED BY manifests_problem
  JOIN links l ON l.digest = m.digest AND l.kind = 'revision'
  JOIN repositories r ON r.id = l.repo_id AND r.scan_id = :scan
  WHERE m.scan_id = :scan AND m.problem IS NOT NULL AND m.problem <> 'missing'`;

export interface UnreferencedLayerLinkRow {
  repository: string;
  pathDigest: string;
  digest: string;
  size: number;
  /** The repository has revisions whose manifest could not be read: they might use it. */
  uncertain: boolean;
}

/** `_layers` link contents (blob present) that no manifest of their repository references: what 3.x GC removes. */
export function unreferencedLayerLinks(db: ReadableDB, scanId: number): UnreferencedLayerLinkRow[] {
  const rows = db
    .prepare(
      `WITH unread AS MATERIALIZED (${UNREADABLE_REVISIONS})
       SELECT r.name AS repository, h.digest, h.size,
         (SELECT l.path_digest FROM links l WHERE l.repo_id = h.repo_id AND l.kind = 'layer' AND l.digest = h.digest LIMIT 1) AS pathDigest,
         EXISTS (SELECT 1 FROM unread u WHERE u.repo_id = r.id) AS uncertain
       FROM repositories r JOIN held h INDEXED BY held_unreferenced ON h.repo_id = r.id
       WHERE r.scan_id = :scan AND h.holders = 0 AND h.size IS NOT NULL
       ORDER BY r.name, h.digest`,
    )
    .all({ scan: scanId }) as Array<Omit<UnreferencedLayerLinkRow, 'uncertain'> & { uncertain: number }>;
  return rows.map((r) => ({ ...r, uncertain: r.uncertain === 1 }));
}

export interface UnreferencedBlobRow {
  digest: string;
  size: number;
  /** Repositories with a `_layers` link to it. */
  linkedBy: number;
}

/** Blobs no repository holds: no revision's manifest, and referenced by no revision's manifest. */
export function unreferencedBlobs(db: ReadableDB, scanId: number): UnreferencedBlobRow[] {
  return db
    .prepare(
      `SELECT b.digest, b.size,
         (SELECT count(DISTINCT l.repo_id) FROM links l JOIN repositories r ON r.id = l.repo_id
          WHERE l.digest = b.digest AND l.kind = 'layer' AND r.scan_id = :scan) AS linkedBy
       FROM blobs b
       WHERE b.scan_id = :scan AND NOT EXISTS (SELECT 1 FROM held h WHERE h.scan_id = :scan AND h.digest = b.digest AND h.holders > 0)
       ORDER BY b.digest`,
    )
    .all({ scan: scanId }) as UnreferencedBlobRow[];
}

export interface UnreadableManifestRow {
  repository: string;
  digest: string;
  problem: string;
  size: number;
  tags: string | null;
}

/** Revisions whose manifest blob exists but could not be read or parsed. */
export function unreadableManifests(db: ReadableDB, scanId: number): UnreadableManifestRow[] {
  return db
    .prepare(
      `SELECT DISTINCT r.name AS repository, u.digest, u.problem, u.size, ${tagsOf('u.repo_id', 'u.digest', 'tag-current')} AS tags
       FROM (${UNREADABLE_REVISIONS}) u JOIN repositories r ON r.id = u.repo_id
       ORDER BY r.name, u.digest`,
    )
    .all({ scan: scanId }) as UnreadableManifestRow[];
}
