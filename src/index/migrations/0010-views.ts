import type { Database } from 'better-sqlite3';

/** PRAGMA application_id of a regaudit index ("RGAU"): how open.ts tells it from another program's SQLite file. */
export const APPLICATION_ID = 0x52474155;

/**
 * Version 10: the index marks itself as regaudit's, records whether a scan's derived tables are
 * filled, and offers views for people who query it themselves (documented in docs/schema.md).
 */
export function up(db: Database): void {
  db.pragma(`application_id = ${APPLICATION_ID}`);
  // Idempotent, like 0007: a test (or a user lowering user_version by hand) may run it over itself.
  const columns = db.prepare(`SELECT name FROM pragma_table_info('scans')`).pluck().all() as string[];
  // 1: held and tag_usage hold this scan's graph. A scan written before migration 0005 has none, and
  // a frozen migration cannot compute it: reading commands ask for a new scan instead. A scan with
  // revisions always has rows in held (derive.ts), so none there means "not derived".
  if (!columns.includes('derived'))
    db.exec(`ALTER TABLE scans ADD COLUMN derived INTEGER NOT NULL DEFAULT 0 CHECK (derived IN (0, 1))`);
  db.exec(`
    UPDATE scans SET derived = CASE
      WHEN EXISTS (SELECT 1 FROM held h WHERE h.scan_id = scans.id) THEN 1
      WHEN NOT EXISTS (SELECT 1 FROM repositories r JOIN links l ON l.repo_id = r.id AND l.kind = 'revision'
                       WHERE r.scan_id = scans.id) THEN 1
      ELSE 0 END;

    CREATE VIEW IF NOT EXISTS current_scans AS
    SELECT s.id AS scan_id, s.root, s.given_path,
           datetime(s.finished_ms / 1000, 'unixepoch') AS finished_at, s.finished_ms, s.tool_version,
           s.thorough, s.files, s.dirs, s.derived
    FROM scans s
    WHERE s.status = 'complete'
      AND s.id = (SELECT max(o.id) FROM scans o WHERE o.root = s.root AND o.status = 'complete');

    CREATE VIEW IF NOT EXISTS repository_usage AS
    SELECT c.root, r.name AS repository,
           (SELECT count(*) FROM tag_usage t WHERE t.repo_id = r.id) AS tags,
           coalesce(sum(h.revision), 0) AS revisions,
           count(h.size) AS blobs,
           coalesce(sum(h.size), 0) AS reachable_bytes,
           coalesce(sum(CASE WHEN h.repos = 1 THEN h.size END), 0) AS exclusive_bytes,
           coalesce(sum(CASE WHEN h.repos > 1 THEN h.size END), 0) AS shared_bytes
    FROM current_scans c
    JOIN repositories r ON r.scan_id = c.scan_id
    LEFT JOIN held h ON h.repo_id = r.id AND h.holders > 0
    GROUP BY r.id;

    CREATE VIEW IF NOT EXISTS tag_sizes AS
    SELECT c.root, r.name AS repository, t.tag, t.digest, t.manifests, t.blobs,
           t.bytes AS reachable_bytes, t.exclusive_bytes, t.bytes - t.exclusive_bytes AS shared_bytes,
           t.freed_bytes
    FROM current_scans c
    JOIN repositories r ON r.scan_id = c.scan_id
    JOIN tag_usage t ON t.repo_id = r.id;

    CREATE VIEW IF NOT EXISTS shared_blobs AS
    SELECT c.root, h.digest, max(h.size) AS size, count(*) AS repositories,
           max(h.size) * (count(*) - 1) AS bytes_saved_by_sharing
    FROM current_scans c
    JOIN held h ON h.scan_id = c.scan_id AND h.holders > 0
    GROUP BY c.root, h.digest
    HAVING count(*) > 1;
  `);
}
