import type { Database } from 'better-sqlite3';

/**
 * Version 7: scans.thorough. A default scan opens `link` and `data` files by name; a thorough one
 * also lists every digest directory (src/scan/read-repository.ts). A rescan updates a scan in place
 * only in the same mode. Scans written before this version listed everything: thorough.
 */
export function up(db: Database): void {
  const columns = db.prepare(`SELECT name FROM pragma_table_info('scans')`).pluck().all() as string[];
  // Idempotent: a test (and a user downgrading user_version by hand) may run it over itself.
  if (!columns.includes('thorough')) db.exec(`ALTER TABLE scans ADD COLUMN thorough INTEGER NOT NULL DEFAULT 1`);
}
