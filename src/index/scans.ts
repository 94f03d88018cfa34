import type { DB, ReadableDB } from './open.js';
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
  /** 0: the derived tables are empty (an index upgraded past migration 0005 without a rescan). */
  derived: number;
}

export function insertScan(db: DB, root: string, givenPath: string, startedMs: number, thorough: boolean): number {
  return Number(
    db
      .prepare(
        `INSERT INTO scans (root, given_path, started_ms, status, tool_version, thorough) VALUES (?, ?, ?, 'running', ?, ?)`,
      )
      .run(root, givenPath, startedMs, TOOL_VERSION, thorough ? 1 : 0).lastInsertRowid,
  );
}

/**
 * Drops the earlier scans of `root` (a rescan replaces them). Runs inside the new scan's
 * transaction, before the indexes are suspended: the cascades need them.
 */
export function dropScansOf(db: DB, root: string): void {
  db.prepare(`DELETE FROM scans WHERE root = ?`).run(root);
}

export function completeScan(
  db: DB,
  id: number,
  stats: { files: number; dirs: number; finishedMs: number },
  givenPath?: string,
): void {
  db.prepare(
    `UPDATE scans SET status = 'complete', finished_ms = ?, files = ?, dirs = ?, given_path = coalesce(?, given_path) WHERE id = ?`,
  ).run(stats.finishedMs, stats.files, stats.dirs, givenPath ?? null, id);
}

/**
 * The scan of `root` a rescan may update in place: complete, written by this very version (another
 * version may read storage differently, so its scan is replaced by a full one), in the same mode, and
 * with its derived graph (an index upgraded past migration 0005 has none until a full scan).
 */
export function reusableScan(db: DB, root: string, thorough: boolean): number | undefined {
  const row = db
    .prepare(
      `SELECT id, tool_version, thorough, derived FROM scans WHERE root = ? AND status = 'complete' ORDER BY id DESC LIMIT 1`,
    )
    .get(root) as { id: number; tool_version: string; thorough: number; derived: number } | undefined;
  const count = (db.prepare(`SELECT count(*) FROM scans WHERE root = ?`).pluck().get(root) as number) ?? 0;
  return row &&
    row.tool_version === TOOL_VERSION &&
    row.thorough === (thorough ? 1 : 0) &&
    row.derived === 1 &&
    count === 1
    ? row.id
    : undefined;
}

/** Files the index knows of in one scan: links, blobs, upload directories. */
export function countFiles(db: ReadableDB, scanId: number): number {
  return db
    .prepare(
      `SELECT (SELECT count(*) FROM links l JOIN repositories r ON r.id = l.repo_id WHERE r.scan_id = ?)
            + (SELECT count(*) FROM blobs WHERE scan_id = ?)
            + (SELECT count(*) FROM uploads u JOIN repositories r ON r.id = u.repo_id WHERE r.scan_id = ?)`,
    )
    .pluck()
    .get(scanId, scanId, scanId) as number;
}

const SCAN_COLUMNS = `id, root, given_path AS givenPath, started_ms AS startedMs, finished_ms AS finishedMs, status,
  tool_version AS toolVersion, files, dirs, derived`;

/** The newest complete scan, of `root` when given; throws a one-line error when there is none. */
export function latestScan(db: ReadableDB, file: string, root?: string): ScanRow {
  const row = (
    root === undefined
      ? db
          .prepare(
            `SELECT ${SCAN_COLUMNS} FROM scans WHERE status = 'complete' ORDER BY finished_ms DESC, id DESC LIMIT 1`,
          )
          .get()
      : db
          .prepare(`SELECT ${SCAN_COLUMNS} FROM scans WHERE status = 'complete' AND root = ? ORDER BY id DESC LIMIT 1`)
          .get(root)
  ) as ScanRow | undefined;
  if (!row)
    throw new IndexError(
      `${file}: the index holds no complete scan${root ? ` of ${root}` : ''}; run "regaudit scan" first`,
    );
  return row;
}

/** Tables a scan bulk-loads; their secondary indexes are rebuilt once at the end instead of row by row. */
const BULK_TABLES = ['links', 'tags', 'blobs', 'uploads', 'manifests', 'manifest_refs', 'debris'];

/**
 * Drops the secondary indexes of the bulk tables and returns the statements that recreate them.
 * Building an index by sorting once is several times cheaper than maintaining it per insert for
 * random digest keys. Must run inside the scan's transaction, so a failed scan restores them.
 */
export function suspendIndexes(db: DB, tables: readonly string[] = BULK_TABLES): string[] {
  const rows = db
    .prepare(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(', ')}) ORDER BY name`,
    )
    .all(...tables) as Array<{ name: string; sql: string }>;
  for (const r of rows) db.exec(`DROP INDEX "${r.name}"`);
  return rows.map((r) => r.sql);
}

export function restoreIndexes(db: DB, sqls: readonly string[]): void {
  for (const s of sqls) db.exec(s);
}

/**
 * The distinct digests the scan's revision links name, in digest order (locality in blobs/), a page
 * at a time: a full scan reads their manifests from these pages instead of holding every digest
 * while it walks (112 k on the large benchmark tree, 10 MB of strings; ten times that on a store ten
 * times larger). Call after the links are written; the pages come from a temporary table.
 */
export function* revisionDigestPages(db: DB, scanId: number, size: number): Generator<string[]> {
  db.exec(`DROP TABLE IF EXISTS temp.scan_revisions`);
  db.exec(`CREATE TEMP TABLE scan_revisions (digest TEXT NOT NULL)`);
  try {
    db.prepare(
      `INSERT INTO temp.scan_revisions
       SELECT DISTINCT l.digest FROM repositories r JOIN links l ON l.repo_id = r.id
       WHERE r.scan_id = ? AND l.kind = 'revision' AND l.digest IS NOT NULL ORDER BY l.digest`,
    ).run(scanId);
    const page = db
      .prepare(`SELECT rowid, digest FROM temp.scan_revisions WHERE rowid > ? ORDER BY rowid LIMIT ?`)
      .raw();
    for (let last = 0; ;) {
      const rows = page.all(last, size) as Array<[number, string]>;
      if (rows.length === 0) return;
      last = rows[rows.length - 1]![0];
      yield rows.map((r) => r[1]);
    }
  } finally {
    db.exec(`DROP TABLE IF EXISTS temp.scan_revisions`);
  }
}
