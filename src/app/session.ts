/** The shared steps of the commands: find and open the index, scan when a root is given, pick the scan, close. */
import { IndexError } from '../errors.js';
import { soleDefaultIndex } from '../index/location.js';
import { guardIndex, openIndexForRead, openIndexForWrite, type ReadableDB, type WritableDB } from '../index/open.js';
import { latestScan, type ScanRow } from '../index/scans.js';
import type { ScanResult } from '../scan/run.js';
import { resolveRoot, type RootArg } from './root.js';
import { indexFileFor, openAndScan, type ScanRunOptions } from './scan.js';

export interface Session<D extends ReadableDB = ReadableDB> {
  db: D;
  /** The index file in use (named, or the default one found). */
  dbFile: string;
  scan: ScanRow;
  scanned?: ScanResult;
  /** Runs index reads or writes, turning a SQLite failure into the one-line error naming the file. */
  guard<T>(fn: () => T): T;
}

export interface SessionOptions extends Omit<ScanRunOptions, 'full'> {
  /** Scanned into the index first when given (a path, or a root the caller already resolved). */
  root?: string | RootArg;
}

/** An existing index, for a command without a storage root: the named file, else the only default one. */
function existingIndexFile(dbFile: string | undefined): string {
  return dbFile ?? soleDefaultIndex();
}

async function open<D extends ReadableDB>(opts: SessionOptions, writable: boolean): Promise<Session<D>> {
  if (opts.root !== undefined) {
    // Resolved before any index file is chosen or created: a bad root leaves nothing behind.
    const root = resolveRoot(opts.root);
    const dbFile = indexFileFor(root, opts.dbFile);
    const { db, scanned } = await openAndScan(root, dbFile, opts);
    try {
      const scan = guardIndex(dbFile, () => latestScan(db, dbFile, root.resolved.v2));
      return { db: db as unknown as D, dbFile, scan, scanned, guard: (fn) => guardIndex(dbFile, fn) };
    } catch (err) {
      db.close();
      throw err;
    }
  }
  const dbFile = existingIndexFile(opts.dbFile);
  // A reading command opens read-only and never migrates; only prune (its journal) writes without a root.
  const db = writable ? openIndexForWrite(checkedForWriting(dbFile)) : openIndexForRead(dbFile);
  try {
    const scan = guardIndex(dbFile, () => latestScan(db, dbFile));
    if (!scan.derived)
      throw new IndexError(
        `${dbFile}: the scan of ${scan.root} predates the manifest graph this regaudit reads (index upgraded, graph not rebuilt); scan again: regaudit scan ${scan.root} --db ${dbFile}`,
      );
    return { db: db as D, dbFile, scan, guard: (fn) => guardIndex(dbFile, fn) };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Without a root a writer must not create the file nor migrate an older index (the graph it needs
 * would be empty): the read-only open checks both first and says what to run.
 */
function checkedForWriting(file: string): string {
  openIndexForRead(file).close();
  return file;
}

/** Opens the session, runs `fn`, and closes the index whatever happens: the open-guard-close of every use case. */
export async function withSession<T>(opts: SessionOptions, fn: (s: Session) => T | Promise<T>): Promise<T> {
  const s = await open<ReadableDB>(opts, false);
  try {
    return await fn(s);
  } finally {
    s.db.close();
  }
}

/** withSession for a use case that writes to the index without scanning (prune records its journal there). */
export async function withWritableSession<T>(
  opts: SessionOptions,
  fn: (s: Session<WritableDB>) => T | Promise<T>,
): Promise<T> {
  const s = await open<WritableDB>(opts, true);
  try {
    return await fn(s);
  } finally {
    s.db.close();
  }
}
