import type { Database } from 'better-sqlite3';

/**
 * Version 1. One row in `scans` per scan of a storage root; everything else hangs off a scan so
 * a rescan can be written beside the old one and swapped in one transaction.
 * Link paths are not stored: they follow from (repository, kind, tag, path_digest) via layout/paths.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE scans (
      id INTEGER PRIMARY KEY,
      root TEXT NOT NULL,                 -- absolute path of docker/registry/v2: the storage's identity
      given_path TEXT NOT NULL,           -- the path the user passed
      started_ms INTEGER NOT NULL,
      finished_ms INTEGER,
      status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
      tool_version TEXT NOT NULL,
      files INTEGER NOT NULL DEFAULT 0,
      dirs INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX scans_by_root ON scans (root, status);

    CREATE TABLE repositories (
      id INTEGER PRIMARY KEY,
      scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      name_problem TEXT,                  -- NULL when the name matches the reference grammar
      has_layers INTEGER NOT NULL,        -- 2.x catalog marker
      has_manifests INTEGER NOT NULL,     -- 3.x catalog marker
      has_uploads INTEGER NOT NULL,
      newest_mtime_ms INTEGER NOT NULL,   -- newest mtime of any entry in _layers/_manifests/_uploads
      entries INTEGER NOT NULL,           -- files + directories in those parts: prune's change check
      problem TEXT,                       -- unreadable or symlinked part: never deletable
      UNIQUE (scan_id, name)
    ) STRICT;

    -- Tag directories under _manifests/tags, with or without a current/link.
    CREATE TABLE tags (
      repo_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      PRIMARY KEY (repo_id, name)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE links (
      repo_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
      kind TEXT NOT NULL CHECK (kind IN ('layer', 'revision', 'tag-current', 'tag-index')),
      tag TEXT,                           -- for tag-current and tag-index
      path_digest TEXT,                   -- digest spelled by the path; NULL for tag-current
      digest TEXT,                        -- parsed content; NULL when the content is not a digest
      problem TEXT CHECK (problem IN ('empty', 'invalid', 'too-large', 'unreadable', 'not-a-file')),
      raw TEXT,                           -- start of unparseable content, escaped, for the report
      size INTEGER NOT NULL,
      mtime_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX links_by_repo ON links (repo_id, kind, path_digest);
    CREATE INDEX links_by_digest ON links (digest, kind);

    CREATE TABLE blobs (
      scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
      digest TEXT NOT NULL,
      size INTEGER NOT NULL,
      mtime_ms INTEGER NOT NULL,
      PRIMARY KEY (scan_id, digest)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE uploads (
      repo_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
      upload_id TEXT NOT NULL,
      started_at TEXT,                    -- startedat content as written (RFC 3339)
      started_ms INTEGER,                 -- NULL when startedat is missing or does not parse
      size INTEGER NOT NULL,              -- bytes in data
      mtime_ms INTEGER NOT NULL,          -- newest mtime inside the upload directory
      PRIMARY KEY (repo_id, upload_id)
    ) STRICT, WITHOUT ROWID;

    -- Every manifest blob named by some revision link, read and parsed once per scan.
    CREATE TABLE manifests (
      scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
      digest TEXT NOT NULL,
      media_type TEXT,
      schema_version INTEGER,
      size INTEGER NOT NULL,
      problem TEXT,                       -- too-large, not-json, unknown-schema, unreadable, missing
      PRIMARY KEY (scan_id, digest)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE manifest_refs (
      scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
      manifest_digest TEXT NOT NULL,
      ref_digest TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('config', 'layer', 'child', 'subject', 'blobsum')),
      media_type TEXT,
      size INTEGER,
      is_foreign INTEGER NOT NULL DEFAULT 0,  -- non-distributable layer with URLs: no local blob by design
      platform TEXT                           -- os/arch[/variant] of an index child
    ) STRICT;
    CREATE INDEX refs_by_manifest ON manifest_refs (scan_id, manifest_digest);
    CREATE INDEX refs_by_ref ON manifest_refs (scan_id, ref_digest);

    -- Anything on disk the grammar does not expect, or could not read.
    CREATE TABLE debris (
      scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
      repo_id INTEGER REFERENCES repositories (id) ON DELETE CASCADE,
      path TEXT NOT NULL,                 -- relative to docker/registry/v2
      kind TEXT NOT NULL,
      detail TEXT
    ) STRICT;
    CREATE INDEX debris_by_scan ON debris (scan_id, kind);
  `);
}
