import Sqlite from 'better-sqlite3';
import { existsSync, readFileSync, rmSync, statSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { IndexError, errnoCode } from '../errors.js';
import { APPLICATION_ID, migrate, userVersion, SCHEMA_VERSION } from './migrations/index.js';

let addon: { nativeBinding?: string } | undefined;

/**
 * better-sqlite3 finds its native addon through the `bindings` package, which searches upward from
 * the calling file: in the bundled CLI (scripts/build-cli.mjs) that is regaudit's bundle, which holds
 * better-sqlite3's JavaScript, so the addon is named where better-sqlite3's install builds it. When it
 * is not there (another install layout), `bindings` searches as before.
 */
function nativeBinding(): { nativeBinding?: string } {
  if (addon === undefined) {
    try {
      addon = {
        nativeBinding: createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node'),
      };
    } catch {
      addon = {};
    }
  }
  return addon;
}

/** Every SQLite connection regaudit makes (index files, an index copy in memory, diff's scratch database). */
export function newDatabase(file: string | Buffer, options: Sqlite.Options = {}): Sqlite.Database {
  return new Sqlite(file, { ...options, ...nativeBinding() });
}

/**
 * Connections are branded by what they may do (as Signal-Desktop's ts/sql does): a function that
 * only reads takes a ReadableDB, one that writes takes a WritableDB. Only openIndexForWrite makes a
 * WritableDB, so a reading command cannot hand its connection to a writer; the read connection is
 * also opened read-only by SQLite itself.
 */
export type ReadableDB = Sqlite.Database & { readonly __readableDb: never };
export type WritableDB = ReadableDB & { readonly __writableDb: never };
/** A writable connection: the scan, migrations, journal writes. */
export type DB = WritableDB;

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

function configure(db: Sqlite.Database): void {
  db.pragma('busy_timeout = 3000');
  db.pragma('foreign_keys = ON');
  // Sorts for index builds and large queries spill to temporary files, so memory stays flat with the store's size.
  db.pragma('temp_store = FILE');
  db.pragma('cache_size = -16384');
}

/** The one "newer than this regaudit" check, with its one piece of advice. */
function refuseNewer(file: string, version: number): void {
  if (version > SCHEMA_VERSION)
    throw new IndexError(
      `${file}: index schema version ${version} was written by a newer regaudit (this one reads up to ${SCHEMA_VERSION}); upgrade regaudit`,
    );
}

/**
 * Recognises regaudit's own index before anything is written to it: the application_id pragma
 * (set by migration 0010), or, for an index written before 0010, a user_version and a `scans`
 * table. An empty database (a new file) is regaudit's to create. Anything else is refused.
 */
function refuseForeign(db: Sqlite.Database, file: string): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId === APPLICATION_ID) return;
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
  if (appId === 0 && tables.length === 0 && userVersion(db) === 0) return;
  if (appId === 0 && userVersion(db) > 0 && tables.includes('scans')) return;
  throw new IndexError(
    `${file}: not a regaudit index (a SQLite database of another program); name another file with --db`,
  );
}

/** Removes an index file this process created, with its WAL companions, after a failed open or first scan. */
export function removeCreatedIndex(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) rmSync(f, { force: true });
}

/** Opens (creating if needed) and migrates the index for writing. A file it created is removed on failure. */
export function openIndexForWrite(file: string): WritableDB {
  return openWritable(file, 'WAL', 'NORMAL');
}

/**
 * Creates a new index file for a full scan (rebuild.ts): no rollback journal and no fsync per
 * commit, since it is rebuilt from the storage and read by nobody until it is synced and renamed.
 */
export function openIndexForRebuild(file: string): WritableDB {
  return openWritable(file, 'OFF', 'OFF');
}

function openWritable(file: string, journal: 'WAL' | 'OFF', synchronous: 'NORMAL' | 'OFF'): WritableDB {
  const created = file !== ':memory:' && !existsSync(file);
  let db: Sqlite.Database | undefined;
  try {
    db = newDatabase(file);
    configure(db);
    refuseForeign(db, file);
    refuseNewer(file, userVersion(db));
    db.pragma(`journal_mode = ${journal}`);
    db.pragma(`synchronous = ${synchronous}`);
    migrate(db);
    return db as WritableDB;
  } catch (err) {
    db?.close();
    if (created) removeCreatedIndex(file);
    throw indexFailure(file, err);
  }
}

/**
 * Last resort for reading when SQLite cannot set up a WAL reader, e.g. on a full disk or in a
 * read-only directory (it needs to create the -shm file): when no -wal content is pending, the main
 * file alone is the whole index, so read a copy of it in memory (its header switched to rollback
 * mode, which deserializing needs).
 */
function openInMemoryCopy(file: string): Sqlite.Database | null {
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
  return newDatabase(buf, { readonly: true });
}

/**
 * Opens an existing index for reading, read-only: it must be regaudit's, at exactly this version.
 * An older index is never migrated here (that would write behind a reading command's back): the
 * error says to scan, which migrates it.
 */
export function openIndexForRead(file: string): ReadableDB {
  if (!existsSync(file)) throw new IndexError(`${file}: no index here; run "regaudit scan <root> --db ${file}" first`);
  let db: Sqlite.Database | undefined;
  try {
    try {
      db = newDatabase(file, { readonly: true, fileMustExist: true });
      configure(db);
      userVersion(db);
    } catch (err) {
      const code = errnoCode(err) ?? '';
      // READONLY_CANTINIT and friends: a WAL index in a directory this user cannot write (no -shm).
      if (!['SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_READONLY'].some((c) => code.startsWith(c))) throw err;
      db?.close();
      db = openInMemoryCopy(file) ?? undefined;
      if (!db) throw err;
      configure(db);
    }
    refuseForeign(db, file);
    const v = userVersion(db);
    refuseNewer(file, v);
    if (v < SCHEMA_VERSION) {
      throw new IndexError(
        `${file}: index schema version ${v} is older than this regaudit's (${SCHEMA_VERSION}); reading commands do not upgrade it: run "regaudit scan <root> --db ${file}" (upgrades it and rebuilds what the upgrade cannot)`,
      );
    }
    return db as ReadableDB;
  } catch (err) {
    db?.close();
    throw indexFailure(file, err);
  }
}
