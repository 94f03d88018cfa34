import type { Database } from 'better-sqlite3';

/**
 * Version 13: the gc journal, beside prune's: one row per `gc --apply` run and one per planned item,
 * written before anything on disk changes; outcomes are filled in as the run goes (in groups, see
 * index/journal.ts), the freed bytes and the quarantine batch when it ends. History: kept across scans.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS gc_runs (
      id INTEGER PRIMARY KEY,
      root TEXT NOT NULL,                 -- absolute path of docker/registry/v2
      mode TEXT NOT NULL CHECK (mode IN ('delete', 'quarantine')),
      quarantine_batch TEXT,              -- DIR/<batch> with --quarantine (a resumed batch is named again)
      delete_untagged INTEGER NOT NULL,
      tool_version TEXT NOT NULL,
      pid INTEGER NOT NULL,
      host TEXT NOT NULL,
      started_ms INTEGER NOT NULL,
      finished_ms INTEGER,
      -- 'running' after the process is gone = killed; a rerun finishes the job
      status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
      error TEXT,
      bytes_freed INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE IF NOT EXISTS gc_items (
      run_id INTEGER NOT NULL REFERENCES gc_runs (id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      kind TEXT NOT NULL,                 -- manifest, layer-link, upload, repository, blob
      path TEXT NOT NULL,                 -- relative to docker/registry/v2
      repository TEXT,
      digest TEXT,
      bytes INTEGER NOT NULL,
      reason TEXT NOT NULL,
      outcome TEXT,                       -- NULL until carried out: deleted, quarantined, skipped
      outcome_detail TEXT,
      PRIMARY KEY (run_id, seq)
    ) STRICT, WITHOUT ROWID;
  `);
}
