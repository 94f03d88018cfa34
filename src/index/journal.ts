/** The prune journal in the index: runs and their planned actions, with outcomes filled in as they happen. */
import { hostname } from 'node:os';
import type { DB, ReadableDB } from './open.js';
import { TOOL_VERSION } from '../version.js';

/** One planned step of a prune, as the journal records it. */
export interface JournalAction {
  /** Repository name, or a path relative to docker/registry/v2 for a cleanup. */
  target: string;
  kind: 'repository' | 'cleanup';
  /** What the plan said: delete, skip, remove. */
  action: string;
  reason?: string;
  detail?: string;
}

export interface JournalOutcome extends JournalAction {
  /** deleted, quarantined, skipped, removed, kept */
  outcome: string;
  outcomeDetail?: string;
  at: string;
}

export type PruneMode = 'dry-run' | 'delete' | 'quarantine';

/** What the prune and gc journals record of every run. */
export interface JournalRunRow {
  id: number;
  root: string;
  quarantineBatch: string | null;
  toolVersion: string;
  pid: number;
  host: string;
  startedMs: number;
  finishedMs: number | null;
  status: 'running' | 'complete' | 'failed';
  error: string | null;
  planned: number;
  done: number;
}

export interface PruneRunRow extends JournalRunRow {
  mode: PruneMode;
}

export interface PruneActionRow {
  seq: number;
  kind: string;
  target: string;
  planned: string;
  reason: string | null;
  detail: string | null;
  outcome: string | null;
  outcomeDetail: string | null;
  doneMs: number | null;
}

/** Records a run and everything it plans, in one transaction, before anything is carried out. */
export function beginPruneRun(
  db: DB,
  run: { root: string; mode: PruneMode; startedMs: number },
  actions: readonly JournalAction[],
): number {
  return db.transaction(() => {
    const id = Number(
      db
        .prepare(
          `INSERT INTO prune_runs (root, mode, tool_version, pid, host, started_ms, status) VALUES (?, ?, ?, ?, ?, ?, 'running')`,
        )
        .run(run.root, run.mode, TOOL_VERSION, process.pid, hostname(), run.startedMs).lastInsertRowid,
    );
    const ins = db.prepare(
      `INSERT INTO prune_actions (run_id, seq, kind, target, planned, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    actions.forEach((a, i) => ins.run(id, i + 1, a.kind, a.target, a.action, a.reason ?? null, a.detail ?? null));
    return id;
  })();
}

export function setPruneBatch(db: DB, runId: number, batch: string): void {
  db.prepare(`UPDATE prune_runs SET quarantine_batch = ? WHERE id = ?`).run(batch, runId);
}

export function recordOutcome(db: DB, runId: number, o: JournalOutcome): void {
  db.prepare(
    `UPDATE prune_actions SET outcome = ?, outcome_detail = ?, done_ms = ? WHERE run_id = ? AND kind = ? AND target = ?`,
  ).run(o.outcome, o.outcomeDetail ?? null, Date.parse(o.at), runId, o.kind, o.target);
}

export function finishPruneRun(db: DB, runId: number, finishedMs: number, error?: string): void {
  db.prepare(`UPDATE prune_runs SET status = ?, finished_ms = ?, error = ? WHERE id = ?`).run(
    error === undefined ? 'complete' : 'failed',
    finishedMs,
    error ?? null,
    runId,
  );
}

const RUN_COLUMNS = `r.id, r.root, r.mode, r.quarantine_batch AS quarantineBatch, r.tool_version AS toolVersion, r.pid, r.host,
  r.started_ms AS startedMs, r.finished_ms AS finishedMs, r.status, r.error,
  (SELECT count(*) FROM prune_actions a WHERE a.run_id = r.id AND a.planned <> 'skip') AS planned,
  (SELECT count(*) FROM prune_actions a WHERE a.run_id = r.id AND a.outcome IN ('deleted', 'quarantined', 'removed')) AS done`;

/** Newest first. */
export function pruneRuns(db: ReadableDB, limit: number): PruneRunRow[] {
  return db.prepare(`SELECT ${RUN_COLUMNS} FROM prune_runs r ORDER BY r.id DESC LIMIT ?`).all(limit) as PruneRunRow[];
}

export function pruneRun(db: ReadableDB, id: number): PruneRunRow | undefined {
  return db.prepare(`SELECT ${RUN_COLUMNS} FROM prune_runs r WHERE r.id = ?`).get(id) as PruneRunRow | undefined;
}

export function pruneActions(db: ReadableDB, runId: number): PruneActionRow[] {
  return db
    .prepare(
      `SELECT seq, kind, target, planned, reason, detail, outcome, outcome_detail AS outcomeDetail, done_ms AS doneMs
       FROM prune_actions WHERE run_id = ? ORDER BY seq`,
    )
    .all(runId) as PruneActionRow[];
}

/** One item of a gc run, as the journal records it. */
export interface GcJournalItem {
  kind: string;
  path: string;
  repository?: string;
  digest?: string;
  bytes: number;
  reason: string;
}

export interface GcRunRow extends JournalRunRow {
  mode: 'delete' | 'quarantine';
  deleteUntagged: boolean;
  bytesFreed: number;
  skipped: number;
}

/** Records a `gc --apply` run and every item it plans, in one transaction, before anything is removed. */
export function beginGcRun(
  db: DB,
  run: { root: string; mode: 'delete' | 'quarantine'; deleteUntagged: boolean; startedMs: number },
  items: readonly GcJournalItem[],
): number {
  return db.transaction(() => {
    const id = Number(
      db
        .prepare(
          `INSERT INTO gc_runs (root, mode, delete_untagged, tool_version, pid, host, started_ms, status)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'running')`,
        )
        .run(run.root, run.mode, run.deleteUntagged ? 1 : 0, TOOL_VERSION, process.pid, hostname(), run.startedMs)
        .lastInsertRowid,
    );
    const ins = db.prepare(
      `INSERT INTO gc_items (run_id, seq, kind, path, repository, digest, bytes, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    items.forEach((i, n) =>
      ins.run(id, n + 1, i.kind, i.path, i.repository ?? null, i.digest ?? null, i.bytes, i.reason),
    );
    return id;
  })();
}

export function setGcBatch(db: DB, runId: number, batch: string): void {
  db.prepare(`UPDATE gc_runs SET quarantine_batch = ? WHERE id = ?`).run(batch, runId);
}

/** Outcomes by item sequence number (1-based, the plan's order), in one transaction. */
export function recordGcOutcomes(
  db: DB,
  runId: number,
  outcomes: ReadonlyArray<{ seq: number; outcome: string; detail?: string }>,
): void {
  const upd = db.prepare(`UPDATE gc_items SET outcome = ?, outcome_detail = ? WHERE run_id = ? AND seq = ?`);
  db.transaction(() => {
    for (const o of outcomes) upd.run(o.outcome, o.detail ?? null, runId, o.seq);
  })();
}

export function finishGcRun(db: DB, runId: number, finishedMs: number, bytesFreed: number, error?: string): void {
  db.prepare(`UPDATE gc_runs SET status = ?, finished_ms = ?, bytes_freed = ?, error = ? WHERE id = ?`).run(
    error === undefined ? 'complete' : 'failed',
    finishedMs,
    bytesFreed,
    error ?? null,
    runId,
  );
}

/** Newest first. */
export function gcRuns(db: ReadableDB, limit: number): GcRunRow[] {
  const rows = db
    .prepare(
      `SELECT r.id, r.root, r.mode, r.quarantine_batch AS quarantineBatch, r.delete_untagged AS deleteUntagged,
         r.tool_version AS toolVersion, r.pid, r.host, r.started_ms AS startedMs, r.finished_ms AS finishedMs,
         r.status, r.error, r.bytes_freed AS bytesFreed,
         (SELECT count(*) FROM gc_items i WHERE i.run_id = r.id) AS planned,
         (SELECT count(*) FROM gc_items i WHERE i.run_id = r.id AND i.outcome IN ('deleted', 'quarantined')) AS done,
         (SELECT count(*) FROM gc_items i WHERE i.run_id = r.id AND i.outcome = 'skipped') AS skipped
       FROM gc_runs r ORDER BY r.id DESC LIMIT ?`,
    )
    .all(limit) as Array<Omit<GcRunRow, 'deleteUntagged'> & { deleteUntagged: number }>;
  return rows.map((r) => ({ ...r, deleteUntagged: r.deleteUntagged === 1 }));
}
