import type { DB } from './open.js';
import type { ScanSink, BlobFanRecord, BlobRecord, ManifestRecord } from '../scan/walk.js';
import type { DebrisRecord, RepositorySnapshot } from '../scan/records.js';
import { repositoryNameProblem } from '../layout/repository-name.js';

/** Streams scan records into one scan's rows with prepared statements (caller owns the transaction). */
export class IndexWriter implements ScanSink {
  private readonly insRepo;
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
    this.insTag = db.prepare(`INSERT OR IGNORE INTO tags (repo_id, name) VALUES (?, ?)`);
    this.insLink = db.prepare(
      `INSERT INTO links (repo_id, kind, tag, path_digest, digest, problem, raw, size, mtime_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insUpload = db.prepare(`INSERT OR REPLACE INTO uploads (repo_id, upload_id, started_at, started_ms, size, mtime_ms) VALUES (?, ?, ?, ?, ?, ?)`);
    this.insBlob = db.prepare(`INSERT OR REPLACE INTO blobs (scan_id, digest, size, mtime_ms) VALUES (?, ?, ?, ?)`);
    this.insManifest = db.prepare(
      `INSERT OR REPLACE INTO manifests (scan_id, digest, media_type, schema_version, size, problem) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.insRef = db.prepare(
      `INSERT INTO manifest_refs (scan_id, manifest_digest, ref_digest, role, media_type, size, is_foreign, platform) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insFan = db.prepare(`INSERT OR REPLACE INTO blob_fans (scan_id, alg, fan, stamp, extra) VALUES (?, ?, ?, ?, ?)`);
    this.insDebris = db.prepare(`INSERT INTO debris (scan_id, repo_id, path, kind, detail) VALUES (?, ?, ?, ?, ?)`);
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
    for (const t of s.tags) this.insTag.run(id, t);
    for (const l of s.links) this.insLink.run(id, l.kind, l.tag, l.pathDigest, l.digest, l.problem, l.raw, l.size, l.mtimeMs);
    for (const u of s.uploads) this.insUpload.run(id, u.id, u.startedAt, u.startedMs, u.size, u.mtimeMs);
    for (const d of s.debris) this.insDebris.run(this.scanId, id, d.path, d.kind, d.detail);
  }

  blob(b: BlobRecord): void {
    this.insBlob.run(this.scanId, b.digest, b.size, b.mtimeMs);
  }

  manifest(m: ManifestRecord): void {
    this.insManifest.run(this.scanId, m.digest, m.mediaType, m.schemaVersion, m.size, m.problem);
    for (const r of m.refs) {
      this.insRef.run(this.scanId, m.digest, r.digest, r.role, r.mediaType, r.size, r.foreign ? 1 : 0, r.platform);
    }
  }

  blobFan(f: BlobFanRecord): void {
    this.insFan.run(this.scanId, f.alg, f.fan, f.stamp, JSON.stringify(f.extra));
  }

  debris(d: DebrisRecord): void {
    this.insDebris.run(this.scanId, null, d.path, d.kind, d.detail);
  }
}
