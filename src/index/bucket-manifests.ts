/**
 * What a repeat scan of a bucket may take from the previous one: a manifest blob's bytes are fixed
 * by its digest, so a blob whose listed size, LastModified and ETag are the ones the previous scan
 * recorded (its blob row, and the ETag of the object its manifest row was parsed from) holds the
 * bytes that scan parsed, and its rows are carried over instead of GETting it again.
 *
 * The previous scan's manifests are copied aside into temporary tables before it is dropped (the new
 * scan replaces it in the same transaction, as every scan does), so lookups never race the drop.
 */
import type { DB } from './open.js';
import type { Digest } from '../layout/digest.js';
import type { ManifestRef, RefRole } from '../layout/manifest.js';
import type { ManifestRecord } from './records.js';
import { TOOL_VERSION } from '../version.js';
import { Batch } from './writes.js';

/** The latest complete bucket scan of `root` written by this version (another may parse differently). */
export function previousBucketScan(db: DB, root: string): number | undefined {
  return db
    .prepare(
      `SELECT id FROM scans WHERE root = ? AND status = 'complete' AND storage_kind = 's3' AND tool_version = ?
       ORDER BY id DESC LIMIT 1`,
    )
    .pluck()
    .get(root, TOOL_VERSION) as number | undefined;
}

interface PriorRow {
  size: number;
  etag: string;
  mtimeMs: number;
  mediaType: string | null;
  schemaVersion: number | null;
  problem: string | null;
}

interface RefRow {
  digest: string;
  role: RefRole;
  mediaType: string | null;
  size: number | null;
  foreign: number;
  platform: string | null;
}

/** The previous bucket scan's parsed manifests, by digest; `close()` drops the copies. */
export class PriorManifests {
  private readonly row;
  private readonly refs;
  private readonly present;

  private constructor(private readonly db: DB) {
    this.row = db.prepare(
      `SELECT size, etag, mtime_ms AS mtimeMs, media_type AS mediaType, schema_version AS schemaVersion, problem
       FROM temp.prior_manifests WHERE digest = ?`,
    );
    this.present = db.prepare(`SELECT 1 FROM temp.prior_manifests WHERE digest = ?`).pluck();
    this.refs = db.prepare(
      `SELECT ref_digest AS digest, role, media_type AS mediaType, size, is_foreign AS "foreign", platform
       FROM temp.prior_refs WHERE manifest_digest = ? ORDER BY ord`,
    );
  }

  /**
   * Copies aside what the previous complete bucket scan of `root` parsed (manifests whose object's
   * ETag it recorded); undefined when there is none. Call before that scan is dropped.
   */
  static capture(db: DB, root: string): PriorManifests | undefined {
    const prev = previousBucketScan(db, root);
    if (prev === undefined) return undefined;
    db.exec(`DROP TABLE IF EXISTS temp.prior_manifests; DROP TABLE IF EXISTS temp.prior_refs;`);
    db.exec(`
      CREATE TEMP TABLE prior_manifests (
        digest TEXT PRIMARY KEY, size INTEGER, etag TEXT, mtime_ms INTEGER,
        media_type TEXT, schema_version INTEGER, problem TEXT
      ) WITHOUT ROWID;
      CREATE TEMP TABLE prior_refs (
        manifest_digest TEXT, ord INTEGER, ref_digest TEXT, role TEXT, media_type TEXT, size INTEGER,
        is_foreign INTEGER, platform TEXT, PRIMARY KEY (manifest_digest, ord)
      ) WITHOUT ROWID;
    `);
    db.prepare(
      `INSERT INTO temp.prior_manifests
       SELECT m.digest, m.size, e.etag, b.mtime_ms, m.media_type, m.schema_version, m.problem
       FROM manifests m
       JOIN manifest_etags e ON e.scan_id = m.scan_id AND e.digest = m.digest
       JOIN blobs b ON b.scan_id = m.scan_id AND b.digest = m.digest
       WHERE m.scan_id = ? AND e.etag <> ''`,
    ).run(prev);
    db.prepare(
      `INSERT INTO temp.prior_refs
       SELECT r.manifest_digest, r.rowid, r.ref_digest, r.role, r.media_type, r.size, r.is_foreign, r.platform
       FROM manifest_refs r WHERE r.scan_id = ? AND r.manifest_digest IN (SELECT digest FROM temp.prior_manifests)`,
    ).run(prev);
    return new PriorManifests(db);
  }

  /** True when the previous scan parsed this manifest (whether its object is unchanged is for recall). */
  has(digest: Digest): boolean {
    return this.present.get(digest) !== undefined;
  }

  /** The previous scan's record of `digest` when the listed object is the one it read, else undefined. */
  recall(digest: Digest, listed: { size: number; lastModifiedMs: number; etag: string }): ManifestRecord | undefined {
    const r = this.row.get(digest) as PriorRow | undefined;
    if (!r || r.size !== listed.size || r.etag !== listed.etag || r.mtimeMs !== listed.lastModifiedMs) return undefined;
    const refs: ManifestRef[] = (this.refs.all(digest) as RefRow[]).map((x) => ({
      digest: x.digest as Digest,
      role: x.role,
      mediaType: x.mediaType,
      size: x.size,
      foreign: x.foreign === 1,
      platform: x.platform,
    }));
    return { digest, mediaType: r.mediaType, schemaVersion: r.schemaVersion, size: r.size, problem: r.problem, refs };
  }

  close(): void {
    this.db.exec(`DROP TABLE IF EXISTS temp.prior_manifests; DROP TABLE IF EXISTS temp.prior_refs;`);
  }
}

/** Records, for the scan being written, the ETag of the object each manifest was parsed from (call flush at the end). */
export class ManifestEtags {
  private readonly ins;
  constructor(
    db: DB,
    private readonly scanId: number,
  ) {
    // Batched like the scan's other rows: one statement per manifest cost more than the manifest rows.
    this.ins = new Batch(db, `INSERT OR REPLACE INTO manifest_etags (scan_id, digest, etag)`, 3);
  }

  remember(digest: Digest, etag: string): void {
    if (etag !== '') this.ins.add(this.scanId, digest, etag);
  }

  flush(): void {
    this.ins.flush();
  }
}
