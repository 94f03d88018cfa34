/** Reads back what scans put in an index, for comparing two indexes of the same tree. */
import Database from 'better-sqlite3';

/** Everything a scan put in the index, in a comparable form (ids and times left out). */
export function dumpIndex(dbFile: string): Record<string, unknown[]> {
  const db = new Database(dbFile, { readonly: true });
  try {
    const q = (sql: string): unknown[] => db.prepare(sql).all();
    return {
      repositories: q(
        `SELECT name, has_layers, has_manifests, has_uploads, entries, newest_mtime_ms, problem, stamp, extra FROM repositories ORDER BY name`,
      ),
      tags: q(`SELECT r.name, t.name AS tag FROM tags t JOIN repositories r ON r.id = t.repo_id ORDER BY 1, 2`),
      links: q(
        `SELECT r.name, l.kind, l.tag, l.path_digest, l.digest, l.problem, l.raw, l.size, l.mtime_ms FROM links l JOIN repositories r ON r.id = l.repo_id ORDER BY 1, 2, 3, 4`,
      ),
      uploads: q(
        `SELECT r.name, u.upload_id, u.started_at, u.size, u.mtime_ms FROM uploads u JOIN repositories r ON r.id = u.repo_id ORDER BY 1, 2`,
      ),
      blobs: q(`SELECT digest, size, mtime_ms FROM blobs ORDER BY digest`),
      fans: q(`SELECT alg, fan, stamp, extra FROM blob_fans ORDER BY alg, fan`),
      manifests: q(`SELECT digest, media_type, schema_version, size, problem FROM manifests ORDER BY digest`),
      refs: q(`SELECT manifest_digest, ref_digest, role FROM manifest_refs ORDER BY 1, 2, 3`),
      debris: q(`SELECT path, kind, detail FROM debris ORDER BY path, kind`),
    };
  } finally {
    db.close();
  }
}
