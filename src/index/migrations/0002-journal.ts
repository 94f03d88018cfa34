import type { Database } from 'better-sqlite3';

/**
 * Prune journal: one row per prune run (dry runs too) and one per planned action, written before
 * anything on disk changes and updated as each action is carried out, so the db tells what was
 * planned, what was done, when, and by which version, even after a killed run.
 * Independent of `scans` (a rescan replaces scans; the journal is history and is kept).
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE prune_runs (
      id INTEGER PRIMARY KEY,
      root TEXT NOT NULL,                 -- absolute path of docker/registry/v2
      mode TEXT NOT NULL CHECK (mode IN ('dry-run', 'delete', 'quarantine')),
      quarantine_batch TEXT,              -- DIR/<batch> with --quarantine
      tool_version TEXT NOT NULL,
      pid INTEGER NOT NULL,
      host TEXT NOT NULL,
      started_ms INTEGER NOT NULL,
      finished_ms INTEGER,
      -- 'running' after the process is gone = killed; a rerun finishes the job
      status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
      error TEXT
    ) STRICT;

    CREATE TABLE prune_actions (
      run_id INTEGER NOT NULL REFERENCES prune_runs (id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('repository', 'cleanup')),
      target TEXT NOT NULL,               -- repository name, or a path relative to docker/registry/v2
      planned TEXT NOT NULL,              -- delete, skip, remove
      reason TEXT,
      detail TEXT,
      outcome TEXT,                       -- NULL until carried out: deleted, quarantined, skipped, removed, kept
      outcome_detail TEXT,
      done_ms INTEGER,
      PRIMARY KEY (run_id, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX prune_actions_by_target ON prune_actions (run_id, kind, target);
  `);
}
