import type { Database } from 'better-sqlite3';

/**
 * Version 5: the manifest graph, derived once when a scan completes (src/index/derive.ts), so the
 * audit, `usage` and `gc-preview` read a few indexed rows instead of joining every reference of
 * every revision on each run.
 *
 * held: per repository, every digest its revisions hold: the manifest blob of each revision whose
 * blob exists, and every non-subject reference of those manifests (config, layers, blobSums, index
 * children), one row whatever the number of manifests that use it; plus a row with holders = 0 for
 * each digest the repository only links in `_layers` (content of the link).
 *
 * tag_usage: per tag, the bytes its closure (current manifest plus index children that are
 * revisions of the same repository) keeps alive, with what other repositories share and what
 * deleting it would free.
 */
export function up(db: Database): void {
  db.exec(`
    -- Replaced by refs_by_ref: with scan_id first and every column covered, it lured the planner into
    -- scanning all references of a scan where refs_by_manifest answers with one seek.
    DROP INDEX IF EXISTS refs_by_ref_role;

    CREATE TABLE held (
      scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
      repo_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
      digest TEXT NOT NULL,
      size INTEGER,                       -- bytes of blobs/.../data; NULL when it is not there
      revision INTEGER NOT NULL,          -- 1: a revision of the repository, with its blob
      current INTEGER NOT NULL,           -- 1: a tag's current link names this revision
      tagged INTEGER NOT NULL,            -- 1: a current manifest or one of its references (2.x -m marking)
      live INTEGER NOT NULL,              -- 1: in a tag's closure or referenced from it (3.x -m marking)
      needs_link INTEGER NOT NULL,        -- 1: a config, layer or blobSum (not foreign): served through _layers
      child INTEGER NOT NULL,             -- 1: an index/list child of one of the manifests
      linked INTEGER NOT NULL,            -- 1: _layers/<alg>/<hex>/link of this digest exists and parses
      holders INTEGER NOT NULL,           -- revisions of the repository that hold it; 0: only linked in _layers
      repos INTEGER NOT NULL,             -- repositories of the scan that hold it (holders > 0); 1 = exclusive
      PRIMARY KEY (repo_id, digest)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX held_by_digest ON held (scan_id, digest, holders);

    CREATE TABLE tag_usage (
      repo_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
      tag TEXT NOT NULL,
      digest TEXT NOT NULL,               -- the current manifest
      manifests INTEGER NOT NULL,         -- manifests in the closure (1 + index children)
      blobs INTEGER NOT NULL,             -- blobs present in blobs/ that the closure holds
      bytes INTEGER NOT NULL,
      exclusive_bytes INTEGER NOT NULL,   -- held by no other repository
      freed_bytes INTEGER NOT NULL,       -- held by no other repository and only by manifests no other tag keeps
      PRIMARY KEY (repo_id, tag)
    ) STRICT, WITHOUT ROWID;
  `);
  // A migration is frozen (DDL and data moves only): scans written before this version keep empty
  // derived tables, which migration 0010 marks and reading commands refuse ("scan again").
}
