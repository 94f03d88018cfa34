/**
 * A full scan written into a new index file and renamed into place (README "The index").
 *
 * The new file is written without a rollback journal and without an fsync per commit: it is
 * rebuilt from the storage anyway, and until the rename nothing reads it. Rows of the previous file
 * that the scan does not replace (other roots' scans, the prune journal: whatever does not hang off
 * the replaced scans) are copied into it first. At the end it is synced and renamed over the
 * previous file: an interrupted scan leaves the previous index as it was (and a stray
 * `<file>.rebuild` that the next full scan replaces), and no WAL checkpoint of the whole index is paid.
 *
 * Renaming over a file other connections use is only safe when they cannot write to the old one
 * afterwards. So the previous file first leaves WAL mode (claimRebuild), which SQLite allows only to
 * the sole connection: a WAL reader elsewhere would share -wal/-shm names with the new file, and the
 * scan is then done in place as before. In rollback mode SQLite refuses to write through a
 * connection whose file was renamed over (SQLITE_READONLY_DBMOVED), and the previous file's write
 * lock, held from the copy to the rename, keeps what was copied from changing: a process that opens
 * the index meanwhile reads the previous scan, and a write it attempts after the rename fails with
 * one line instead of going to the replaced file.
 */
import { closeSync, fsyncSync, openSync, realpathSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { newDatabase } from './open.js';
import type { DB } from './open.js';

/** Where the new index is written: beside the old one, so the rename stays on one filesystem. */
export const rebuildPath = (file: string): string => `${file}.rebuild`;

interface ForeignKey {
  table: string;
  from: string;
  to: string;
  on_delete: string;
}

/**
 * Page size of a rebuilt index. 8 KiB pages halve the page reads of the index builds and the graph
 * derivation, which read far more than the page cache holds (docs/benchmarks.md, round four); the
 * cache is sized in bytes (open.ts), so memory stays the same. An index scanned in place keeps its size.
 */
const REBUILD_PAGE_SIZE = 8192;

/** An empty database file with the rebuild's page size, which `open` then migrates like any new file. */
function createEmpty(file: string): void {
  const db = newDatabase(file);
  try {
    db.pragma(`page_size = ${REBUILD_PAGE_SIZE}`);
    db.exec('VACUUM'); // writes the header, and with it the page size
  } finally {
    db.close();
  }
}

/** Tables of `schema`, in creation order (parents before children), without SQLite's own. */
function tables(db: DB, schema: string): string[] {
  return db
    .prepare(
      `SELECT name FROM "${schema}".sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid`,
    )
    .pluck()
    .all() as string[];
}

function columns(db: DB, schema: string, table: string): string[] {
  return (db.pragma(`"${schema}".table_info("${table}")`) as Array<{ name: string }>).map((c) => c.name);
}

/**
 * A predicate on rows of `table` (alias `alias`, in `schema`): true for the rows a DELETE of the
 * scans matching `scanWhere` (a predicate on `scans` aliased `s`) would remove, following the ON
 * DELETE CASCADE foreign keys down from `scans`. Null when the table does not hang off `scans`
 * (the prune journal): its rows belong to no scan.
 */
function belongsTo(db: DB, schema: string, table: string, alias: string, scanWhere: string, depth = 0): string | null {
  if (table === 'scans') return `coalesce(${alias}.id IN (SELECT s.id FROM "${schema}".scans s WHERE ${scanWhere}), 0)`;
  if (depth > 4) return null;
  const fks = (db.pragma(`"${schema}".foreign_key_list("${table}")`) as ForeignKey[]).filter(
    (f) => f.on_delete === 'CASCADE',
  );
  const parts: string[] = [];
  for (const fk of fks) {
    const p = `p${depth}`;
    const parent = belongsTo(db, schema, fk.table, p, scanWhere, depth + 1);
    if (parent)
      parts.push(
        `coalesce(${alias}."${fk.from}" IN (SELECT ${p}."${fk.to}" FROM "${schema}"."${fk.table}" ${p} WHERE ${parent}), 0)`,
      );
  }
  return parts.length ? `(${parts.join(' OR ')})` : null;
}

/**
 * Copies into the new file (main) every row of `previous` that does not belong to a scan of `root`
 * (belongsTo), table by table, same columns, same ids: what an in-place rescan of the root keeps.
 */
function copyKept(db: DB, root: string): void {
  for (const t of tables(db, 'main')) {
    const belongs = belongsTo(db, 'previous', t, 'x', `s.root = ${quote(root)}`);
    const cols = columns(db, 'main', t)
      .map((c) => `"${c}"`)
      .join(', ');
    db.exec(
      `INSERT INTO main."${t}" (${cols}) SELECT ${cols} FROM previous."${t}" x WHERE ${belongs ? `NOT ${belongs}` : '1'}`,
    );
  }
}

const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export interface Rebuild {
  /** The new index, in a transaction: write the scan into it. */
  db: DB;
  file: string;
  tmp: string;
}

/**
 * Takes the previous index `old` out of WAL mode, outside a transaction: true when no other
 * connection has it open in WAL mode (then a rebuild may replace it), false when one has (scan in
 * place). A file already in rollback mode is claimed as it is: its connections hold no lasting lock
 * and share no -wal with the new file, and their writes after the rename fail (DBMOVED).
 */
export function claimRebuild(old: DB): boolean {
  try {
    return String(old.pragma('main.journal_mode = DELETE', { simple: true })) === 'delete';
  } catch {
    return false; // SQLITE_BUSY: another connection holds it
  }
}

/**
 * Starts a new index file for a full scan of `root`, replacing the index file `given`, which the
 * caller has claimed (claimRebuild) and holds the write lock of (BEGIN IMMEDIATE), so what is
 * copied cannot change before the rename. `open` creates and migrates the new file
 * (open.ts openIndexForRebuild).
 */
export function startRebuild(given: string, root: string, open: (tmp: string) => DB): Rebuild {
  const file = realpathSync(given); // a symlinked index keeps its link: the file it names is replaced
  const tmp = rebuildPath(file);
  for (const f of [tmp, `${tmp}-journal`, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  createEmpty(tmp);
  let db: DB;
  try {
    db = open(tmp);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  try {
    db.prepare(`ATTACH DATABASE ? AS previous`).run(file);
    db.exec('BEGIN');
    copyKept(db, root);
    db.exec('COMMIT');
    db.exec('DETACH DATABASE previous');
    db.exec('BEGIN');
    return { db, file, tmp };
  } catch (err) {
    db.close();
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Abandons a rebuild (the scan failed or was interrupted): the previous index stays as it was. */
export function abandonRebuild(r: Rebuild): void {
  if (r.db.open) r.db.close();
  rmSync(r.tmp, { force: true });
}

function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Ends a rebuild whose scan is written (not yet committed) into `r.db`: commits it, makes it durable
 * and renames it over the previous file. `old` still holds its write lock, until after the rename;
 * it is closed.
 */
export function finishRebuild(r: Rebuild, old: DB): void {
  r.db.exec('COMMIT');
  // The new file becomes an index like any other: WAL, as open.ts sets it.
  r.db.pragma('journal_mode = WAL');
  r.db.close();
  fsyncPath(r.tmp);
  renameSync(r.tmp, r.file);
  fsyncPath(path.dirname(r.file));
  old.exec('ROLLBACK');
  old.close();
}
