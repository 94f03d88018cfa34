import type { Database, Statement } from 'better-sqlite3';
import type { DB } from './open.js';
import type {
  BlobFanRecord,
  BlobRecord,
  DebrisRecord,
  ManifestRecord,
  RepositorySnapshot,
  ScanSink,
} from './records.js';
import { repositoryNameProblem } from '../layout/repository-name.js';

/**
 * Rows of one INSERT statement, sent ROWS at a time: one multi-row statement costs about half of
 * the same rows inserted one call each (measured: 600k rows, 1.4 s → 0.7 s).
 */
export class Batch {
  private static readonly ROWS = 32;
  private readonly one: Statement;
  private readonly many: Statement;
  private values: unknown[] = [];

  constructor(
    db: Database,
    head: string,
    private readonly width: number,
  ) {
    const tuple = `(${Array(width).fill('?').join(', ')})`;
    this.one = db.prepare(`${head} VALUES ${tuple}`);
    this.many = db.prepare(`${head} VALUES ${Array(Batch.ROWS).fill(tuple).join(', ')}`);
  }

  add(...row: unknown[]): void {
    for (const v of row) this.values.push(v);
    if (this.values.length === this.width * Batch.ROWS) {
      this.many.run(this.values);
      this.values = [];
    }
  }

  flush(): void {
    for (let i = 0; i < this.values.length; i += this.width) this.one.run(this.values.slice(i, i + this.width));
    this.values = [];
  }
}

/**
 * Streams scan records into one scan's rows (caller owns the transaction). Rows are batched:
 * call flush() before reading the tables (the runners do at the end of every drain).
 */
export class IndexWriter implements ScanSink {
  private readonly insRepo;
  private readonly batches: Batch[];
  private readonly insTag;
  private readonly insLink;
  private readonly insUpload;
  private readonly insBlob;
  private readonly insManifest;
  private readonly insRef;
  private readonly insDebris;
  private readonly insFan;

  constructor(
    db: DB,
    private readonly scanId: number,
  ) {
    this.insRepo = db.prepare(
      `INSERT INTO repositories (scan_id, name, name_problem, has_layers, has_manifests, has_uploads, has_tags_dir, newest_mtime_ms, entries, problem, stamp, extra)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insTag = new Batch(db, `INSERT OR IGNORE INTO tags (repo_id, name)`, 2);
    this.insLink = new Batch(
      db,
      `INSERT INTO links (repo_id, kind, tag, path_digest, digest, problem, raw, size, mtime_ms)`,
      9,
    );
    this.insUpload = new Batch(
      db,
      `INSERT OR REPLACE INTO uploads (repo_id, upload_id, started_at, started_ms, size, mtime_ms)`,
      6,
    );
    this.insBlob = new Batch(db, `INSERT OR REPLACE INTO blobs (scan_id, digest, size, mtime_ms)`, 4);
    this.insManifest = new Batch(
      db,
      `INSERT OR REPLACE INTO manifests (scan_id, digest, media_type, schema_version, size, problem)`,
      6,
    );
    this.insRef = new Batch(
      db,
      `INSERT INTO manifest_refs (scan_id, manifest_digest, ref_digest, role, media_type, size, is_foreign, platform)`,
      8,
    );
    this.insFan = new Batch(db, `INSERT OR REPLACE INTO blob_fans (scan_id, alg, fan, stamp, extra)`, 5);
    this.insDebris = new Batch(db, `INSERT INTO debris (scan_id, repo_id, path, kind, detail)`, 5);
    this.batches = [
      this.insTag,
      this.insLink,
      this.insUpload,
      this.insBlob,
      this.insManifest,
      this.insRef,
      this.insFan,
      this.insDebris,
    ];
  }

  /** Writes the rows still buffered. */
  flush(): void {
    for (const b of this.batches) b.flush();
  }

  repository(s: RepositorySnapshot): void {
    const id = Number(
      this.insRepo.run(
        this.scanId,
        s.name,
        repositoryNameProblem(s.name),
        s.hasLayers ? 1 : 0,
        s.hasManifests ? 1 : 0,
        s.hasUploads ? 1 : 0,
        s.hasTagsDir ? 1 : 0,
        s.newestMtimeMs,
        s.entries,
        s.problem,
        s.stamp,
        JSON.stringify(s.extra),
      ).lastInsertRowid,
    );
    for (const t of s.tags) this.insTag.add(id, t);
    for (const l of s.links)
      this.insLink.add(id, l.kind, l.tag, l.pathDigest, l.digest, l.problem, l.raw, l.size, l.mtimeMs);
    for (const u of s.uploads) this.insUpload.add(id, u.id, u.startedAt, u.startedMs, u.size, u.mtimeMs);
    for (const d of s.debris) this.insDebris.add(this.scanId, id, d.path, d.kind, d.detail);
  }

  blob(b: BlobRecord): void {
    this.insBlob.add(this.scanId, b.digest, b.size, b.mtimeMs);
  }

  manifest(m: ManifestRecord): void {
    this.insManifest.add(this.scanId, m.digest, m.mediaType, m.schemaVersion, m.size, m.problem);
    for (const r of m.refs) {
      this.insRef.add(this.scanId, m.digest, r.digest, r.role, r.mediaType, r.size, r.foreign ? 1 : 0, r.platform);
    }
  }

  blobFan(f: BlobFanRecord): void {
    this.insFan.add(this.scanId, f.alg, f.fan, f.stamp, JSON.stringify(f.extra));
  }

  debris(d: DebrisRecord): void {
    this.insDebris.add(this.scanId, null, d.path, d.kind, d.detail);
  }
}
