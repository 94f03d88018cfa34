import Database from 'better-sqlite3';
import { existsSync, readFileSync, statSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { IndexError, errnoCode } from '../errors.js';
import { migrate, userVersion, SCHEMA_VERSION } from './migrations/index.js';

export type DB = Database.Database;

/** SQLite reports a full disk as an I/O error when it cannot even create its -shm or -journal file. */
function diskFull(file: string): boolean {
  try {
    const st = statfsSync(path.dirname(path.resolve(file)));
    return st.bavail * st.bsize < 64 * 1024;
  } catch {
    return false;
  }
}

/** A one-line reason for a SQLite failure, naming the file. */
export function indexFailure(file: string, err: unknown): IndexError {
  const code = typeof err === 'object' && err && 'code' in err ? String(err.code) : '';
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
    return new IndexError(`${file}: not a regaudit index (file is not a database or is corrupt)`);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return new IndexError(`${file}: index is locked by another process`);
  if (code.startsWith('SQLITE_FULL')) return new IndexError(`${file}: disk full while writing the index`);
  if (code.startsWith('SQLITE_CANTOPEN')) return new IndexError(`${file}: cannot open index (${msg})`);
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_IOERR'))
    return new IndexError(`${file}: cannot write index (${msg}${diskFull(file) ? '; the disk is full' : ''})`);
  if (err instanceof IndexError) return err;
  return new IndexError(`${file}: ${msg}`);
}

/** Runs `fn`, turning a SQLite error (locked, corrupt, disk full…) into the one-line IndexError for `file`. */
export function guardIndex<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (typeof err === 'object' && err && 'code' in err && String(err.code).startsWith('SQLITE'))
      throw indexFailure(file, err);
    throw err;
  }
}

function configure(db: DB): void {
  db.pragma('busy_timeout = 3000');
  db.pragma('foreign_keys = ON');
  // Sorts for index builds and large queries spill to temporary files, so memory stays flat with the store's size.
  db.pragma('temp_store = FILE');
  db.pragma('cache_size = -16384');
}

/** Opens (creating if needed) and migrates the index for writing. */
export function openIndexForWrite(file: string): DB {
  return openMigrated(file, 'WAL', 'NORMAL');
}

/**
 * Creates a new index file for a full scan (rebuild.ts): no rollback journal and no fsync per
 * commit, since it is rebuilt from the storage and read by nobody until it is synced and renamed.
 */
export function openIndexForRebuild(file: string): DB {
  return openMigrated(file, 'OFF', 'OFF');
}

function openMigrated(file: string, journal: 'WAL' | 'OFF', synchronous: 'NORMAL' | 'OFF'): DB {
  let db: DB | undefined;
  try {
    db = new Database(file);
    configure(db);
    db.pragma(`journal_mode = ${journal}`);
    db.pragma(`synchronous = ${synchronous}`);
    migrate(db, file);
    return db;
  } catch (err) {
    db?.close();
    throw indexFailure(file, err);
  }
}

/**
 * Last resort for reading when SQLite cannot set up a WAL reader, e.g. on a full disk (it needs to
 * create the -shm file): when no -wal content is pending, the main file alone is the whole index,
 * so read a copy of it in memory (its header switched to rollback mode, which deserializing needs).
 */
function openInMemoryCopy(file: string): DB | null {
  try {
    if (statSync(`${file}-wal`).size > 0) return null;
  } catch {
    // no -wal: nothing pending
  }
  const buf = readFileSync(file);
  if (buf.length < 100) return null;
  if (buf[18] === 2 && buf[19] === 2) {
    buf[18] = 1;
    buf[19] = 1;
  }
  return new Database(buf, { readonly: true });
}

/** Opens an existing index for reading; it must exist and be at a version this code reads. */
export function openIndexForRead(file: string): DB {
  if (!existsSync(file)) throw new IndexError(`${file}: no index here; run "regaudit scan <root> --db ${file}" first`);
  let db: DB | undefined;
  try {
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      configure(db);
      userVersion(db);
    } catch (err) {
      const code = errnoCode(err) ?? '';
      if (!code.startsWith('SQLITE_IOERR') && !code.startsWith('SQLITE_CANTOPEN')) throw err;
      db?.close();
      db = openInMemoryCopy(file) ?? undefined;
      if (!db) throw err;
      configure(db);
    }
    const v = userVersion(db);
    if (v > SCHEMA_VERSION) {
      throw new IndexError(
        `${file}: index schema version ${v} is newer than this regaudit supports (${SCHEMA_VERSION}); upgrade regaudit or rescan`,
      );
    }
    if (v < SCHEMA_VERSION) {
      db.close();
      db = openIndexForWrite(file);
    }
    return db;
  } catch (err) {
    db?.close();
    throw indexFailure(file, err);
  }
}
