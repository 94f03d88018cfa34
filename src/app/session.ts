/** The shared steps of the commands: open the index, scan when a root is given, pick the scan. */
import { existsSync } from 'node:fs';
import { IndexError } from '../errors.js';
import { guardIndex, openIndexForRead, openIndexForWrite, type DB } from '../index/open.js';
import { latestScan, type ScanRow } from '../index/scans.js';
import { scanStorage, type ScanResult } from '../scan/run.js';
import { resolveStorageRoot } from '../scan/root.js';
import type { WalkProgress } from '../scan/walk.js';

export interface Session {
  db: DB;
  scan: ScanRow;
  scanned?: ScanResult;
}

export interface SessionOptions {
  dbFile: string;
  root?: string;
  onProgress?: (p: WalkProgress) => void;
  /** Scan worker threads (0: walk in this thread). */
  jobs?: number;
  /** Scan mode (scan/read-repository.ts): list every digest directory too. */
  thorough?: boolean;
  /** Without a root: open the existing index for writing (prune records its journal there). */
  writable?: boolean;
}

/** With a root: scan it into the index first. Without: read the newest scan in the index. */
export async function openSession(opts: SessionOptions): Promise<Session> {
  if (opts.root !== undefined) {
    // Resolve first so a bad root fails before the db file is created.
    const root = resolveStorageRoot(opts.root);
    let db = openIndexForWrite(opts.dbFile);
    try {
      const scanned = await scanStorage(db, opts.root, {
        dbFile: opts.dbFile,
        onProgress: opts.onProgress,
        thorough: Boolean(opts.thorough),
        rebuild: true,
        ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
      });
      db = scanned.db;
      return { db, scan: latestScan(db, opts.dbFile, root.v2), scanned };
    } catch (err) {
      db.close();
      throw err;
    }
  }
  const db = opts.writable ? openIndexForWrite(existingIndex(opts.dbFile)) : openIndexForRead(opts.dbFile);
  try {
    return { db, scan: guardIndex(opts.dbFile, () => latestScan(db, opts.dbFile)) };
  } catch (err) {
    db.close();
    throw err;
  }
}

function existingIndex(file: string): string {
  if (!existsSync(file)) throw new IndexError(`${file}: no index here; run "regaudit scan <root> --db ${file}" first`);
  return file;
}
