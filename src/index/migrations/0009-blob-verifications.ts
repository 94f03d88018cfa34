import type { Database } from 'better-sqlite3';

/**
 * Version 9: what `regaudit verify` learned about each blob's bytes. Keyed by storage root, not by
 * scan: a rescan replaces the scan's rows, and the hashing it took hours to do must survive that.
 * A row is current while the blob's size and mtime in the newest scan equal the ones hashed.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS blob_verifications (
      root TEXT NOT NULL,                 -- scans.root: absolute path of docker/registry/v2
      digest TEXT NOT NULL,
      size INTEGER NOT NULL,              -- bytes of data when hashed
      mtime_ms INTEGER NOT NULL,          -- mtime of data when hashed
      verified_ms INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('ok', 'corrupt', 'unreadable')),
      detail TEXT,                        -- what was read instead (corrupt) or why not (unreadable)
      PRIMARY KEY (root, digest)
    ) STRICT, WITHOUT ROWID;
  `);
}
