import type { Database } from 'better-sqlite3';

/**
 * Version 14 (object storage): the ETag of the object each manifest row of a bucket scan was parsed
 * from. A repeat scan of the bucket takes a manifest's rows from the previous scan instead of reading
 * the blob again when its listed size, LastModified and ETag are still the ones recorded.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS manifest_etags (
      scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
      digest TEXT NOT NULL,
      etag TEXT NOT NULL,
      PRIMARY KEY (scan_id, digest)
    ) STRICT, WITHOUT ROWID;
  `);
}
