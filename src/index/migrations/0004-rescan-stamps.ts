import type { Database } from 'better-sqlite3';

/**
 * Version 4: stamps for incremental rescans (scan/stamp.ts).
 * - repositories.stamp / extra: hash of every entry the scan stat'ed in the repository's parts,
 *   and the paths (JSON array) its rows do not imply. NULL: always re-read.
 * - blob_fans: the same per blobs/<alg>/<xx> directory.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE repositories ADD COLUMN stamp TEXT;
    ALTER TABLE repositories ADD COLUMN extra TEXT;
    CREATE TABLE blob_fans (
      scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
      alg TEXT NOT NULL,
      fan TEXT NOT NULL,
      stamp TEXT NOT NULL,
      extra TEXT NOT NULL,                -- JSON array of paths relative to the fan directory
      PRIMARY KEY (scan_id, alg, fan)
    ) STRICT, WITHOUT ROWID;
  `);
}
