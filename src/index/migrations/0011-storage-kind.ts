import type { Database } from 'better-sqlite3';

/**
 * Version 11: scans.storage_kind, 'filesystem' or 's3' (object storage). A bucket scan records the
 * same rows as a filesystem scan; only how its root is reached (and pruned) differs.
 */
export function up(db: Database): void {
  const columns = db.prepare(`SELECT name FROM pragma_table_info('scans')`).pluck().all() as string[];
  if (!columns.includes('storage_kind'))
    db.exec(`ALTER TABLE scans ADD COLUMN storage_kind TEXT NOT NULL DEFAULT 'filesystem'`);
}
