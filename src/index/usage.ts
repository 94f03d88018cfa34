/**
 * Disk usage of one scan, from the derived `held` and `tag_usage` tables (derive.ts).
 *
 * A blob is exclusive to a repository when no other repository holds it, shared when two or more
 * do, unreferenced when none does. Every blob is exactly one of the three, so
 *   sum(exclusive of every repository) + shared (each blob once) + unreferenced = all blobs/**\/data.
 */
import type { ReadableDB } from './open.js';

export interface RepositoryUsageRow {
  repository: string;
  tags: number;
  revisions: number;
  /** Blobs present in blobs/ that the repository's revisions hold. */
  blobs: number;
  reachable: number;
  exclusive: number;
  shared: number;
  /** What deleting the repository and running garbage-collect frees: its exclusive bytes. */
  freed: number;
}

export function repositoryUsage(db: ReadableDB, scanId: number): RepositoryUsageRow[] {
  return db
    .prepare(
      `SELECT r.name AS repository,
         (SELECT count(*) FROM tag_usage t WHERE t.repo_id = r.id) AS tags,
         coalesce(sum(h.revision), 0) AS revisions,
         count(h.size) AS blobs,
         coalesce(sum(h.size), 0) AS reachable,
         coalesce(sum(CASE WHEN h.repos = 1 THEN h.size END), 0) AS exclusive,
         coalesce(sum(CASE WHEN h.repos > 1 THEN h.size END), 0) AS shared,
         coalesce(sum(CASE WHEN h.repos = 1 THEN h.size END), 0) AS freed
       FROM repositories r LEFT JOIN held h ON h.repo_id = r.id AND h.holders > 0
       WHERE r.scan_id = :scan
       GROUP BY r.id
       ORDER BY r.name`,
    )
    .all({ scan: scanId }) as RepositoryUsageRow[];
}

export interface TagUsageRow {
  repository: string;
  tag: string;
  digest: string;
  /** Manifests in the tag's closure: 1, plus the index/list children. */
  manifests: number;
  blobs: number;
  reachable: number;
  exclusive: number;
  shared: number;
  /** What deleting the tag's manifest (and the children only it keeps) and running garbage-collect frees. */
  freed: number;
}

export function tagUsage(db: ReadableDB, scanId: number): TagUsageRow[] {
  return db
    .prepare(
      `SELECT r.name AS repository, t.tag, t.digest, t.manifests, t.blobs, t.bytes AS reachable,
         t.exclusive_bytes AS exclusive, t.bytes - t.exclusive_bytes AS shared, t.freed_bytes AS freed
       FROM repositories r JOIN tag_usage t ON t.repo_id = r.id
       WHERE r.scan_id = :scan
       ORDER BY r.name, t.tag`,
    )
    .all({ scan: scanId }) as TagUsageRow[];
}

export interface UsageTotals {
  /** Every blobs/<alg>/<xx>/<hex>/data file. */
  blobs: number;
  bytes: number;
  exclusiveBlobs: number;
  exclusiveBytes: number;
  /** Blobs held by two or more repositories, each counted once. */
  sharedBlobs: number;
  sharedBytes: number;
  /** Blobs no repository holds: what garbage-collect frees without --delete-untagged (2.x/3.x alike when every repository is enumerated). */
  unreferencedBlobs: number;
  unreferencedBytes: number;
}

export function usageTotals(db: ReadableDB, scanId: number): UsageTotals {
  const all = db
    .prepare(`SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM blobs WHERE scan_id = :scan`)
    .get({ scan: scanId }) as {
    n: number;
    bytes: number;
  };
  // Exclusive blobs have one holding row; shared ones one per repository, grouped back to one each.
  const held = db
    .prepare(
      `WITH rows AS (SELECT h.digest, h.repos, h.size FROM repositories r JOIN held h ON h.repo_id = r.id
                     WHERE r.scan_id = :scan AND h.holders > 0 AND h.size IS NOT NULL)
       SELECT (SELECT count(*) FROM rows WHERE repos = 1) AS exclusiveBlobs,
              (SELECT coalesce(sum(size), 0) FROM rows WHERE repos = 1) AS exclusiveBytes,
              (SELECT count(DISTINCT digest) FROM rows WHERE repos > 1) AS sharedBlobs,
              (SELECT coalesce(sum(size), 0) FROM (SELECT DISTINCT digest, size FROM rows WHERE repos > 1)) AS sharedBytes`,
    )
    .get({ scan: scanId }) as Pick<UsageTotals, 'exclusiveBlobs' | 'exclusiveBytes' | 'sharedBlobs' | 'sharedBytes'>;
  const unref = db
    .prepare(
      `SELECT count(*) AS n, coalesce(sum(b.size), 0) AS bytes FROM blobs b
       WHERE b.scan_id = :scan AND NOT EXISTS (SELECT 1 FROM held h WHERE h.scan_id = :scan AND h.digest = b.digest AND h.holders > 0)`,
    )
    .get({ scan: scanId }) as { n: number; bytes: number };
  return { blobs: all.n, bytes: all.bytes, ...held, unreferencedBlobs: unref.n, unreferencedBytes: unref.bytes };
}
