import type { DB } from './open.js';
import { IndexError } from '../errors.js';
import { TOOL_VERSION } from '../version.js';

export interface ScanRow {
  id: number;
  root: string;
  givenPath: string;
  startedMs: number;
  finishedMs: number | null;
  status: string;
  toolVersion: string;
  files: number;
  dirs: number;
}

export function insertScan(db: DB, root: string, givenPath: string, startedMs: number): number {
  return Number(
    db
      .prepare(`INSERT INTO scans (root, given_path, started_ms, status, tool_version) VALUES (?, ?, ?, 'running', ?)`)
      .run(root, givenPath, startedMs, TOOL_VERSION).lastInsertRowid,
  );
}

/** Marks a scan complete and drops every other scan of the same root (the rescan replaces them). */
export function completeScan(db: DB, id: number, root: string, stats: { files: number; dirs: number; finishedMs: number }): void {
  db.prepare(`DELETE FROM scans WHERE root = ? AND id <> ?`).run(root, id);
  db.prepare(`UPDATE scans SET status = 'complete', finished_ms = ?, files = ?, dirs = ? WHERE id = ?`).run(stats.finishedMs, stats.files, stats.dirs, id);
}

const SCAN_COLUMNS = `id, root, given_path AS givenPath, started_ms AS startedMs, finished_ms AS finishedMs, status,
  tool_version AS toolVersion, files, dirs`;

/** The newest complete scan, of `root` when given; throws a one-line error when there is none. */
export function latestScan(db: DB, file: string, root?: string): ScanRow {
  const row = (
    root === undefined
      ? db.prepare(`SELECT ${SCAN_COLUMNS} FROM scans WHERE status = 'complete' ORDER BY finished_ms DESC, id DESC LIMIT 1`).get()
      : db.prepare(`SELECT ${SCAN_COLUMNS} FROM scans WHERE status = 'complete' AND root = ? ORDER BY id DESC LIMIT 1`).get(root)
  ) as ScanRow | undefined;
  if (!row) throw new IndexError(`${file}: the index holds no complete scan${root ? ` of ${root}` : ''}; run "regaudit scan" first`);
  return row;
}
