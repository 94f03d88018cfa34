import type { Database } from 'better-sqlite3';

/**
 * Version 3: what the manifest-graph audit, `usage` and `gc-preview` need.
 * - repositories.has_tags_dir: whether `_manifests/tags` exists. Garbage collection with
 *   --delete-untagged reads it for every untagged revision: 2.8 aborts when it is missing, 3.x skips
 *   the revision. NULL in scans written before this version (unknown; treated as present).
 * - links_by_repo_digest: per-repository lookups by link content (is this blob linked in `_layers`,
 *   is this manifest a revision here, which tag points at it).
 * - refs_by_ref_role: "which manifests reference this blob, and how" without reading the table.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE repositories ADD COLUMN has_tags_dir INTEGER;
    CREATE INDEX links_by_repo_digest ON links (repo_id, kind, digest);
    CREATE INDEX refs_by_ref_role ON manifest_refs (scan_id, ref_digest, role, manifest_digest);
  `);
}
