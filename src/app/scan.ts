/** The `scan` use case: walk a storage root into its index (the default one unless a file is named). */
import { defaultIndexFile, ensureIndexDir } from '../index/location.js';
import { existsSync } from 'node:fs';
import { openIndexForWrite, removeCreatedIndex, type WritableDB } from '../index/open.js';
import { scanStorage, type ScanResult } from '../scan/run.js';
import type { WalkProgress } from '../scan/walk.js';
import { resolveRoot, type RootArg } from './root.js';

export interface ScanRunOptions {
  /** --db or REGAUDIT_DB; undefined: the storage root's default index (index/location.ts). */
  dbFile?: string;
  clock?: () => number;
  onProgress?: (p: WalkProgress) => void;
  /** Scan worker threads (0: walk in this thread). */
  jobs?: number;
  /** Scan mode (scan/read-repository.ts): list every digest directory too. */
  thorough?: boolean;
  /** Read everything even where the previous scan could be updated in place. */
  full?: boolean;
}

export interface ScanRun extends ScanResult {
  dbFile: string;
}

/** The index file a command with a storage root uses: the named one, else the root's default (its directory created). */
export function indexFileFor(root: RootArg, dbFile: string | undefined): string {
  if (dbFile !== undefined) return dbFile;
  const file = defaultIndexFile(root.resolved.v2);
  ensureIndexDir(file);
  return file;
}

/**
 * Opens the index for writing and scans the (already resolved) root into it; the caller closes the
 * connection. An index file this scan created is removed again when the scan fails, so a failed
 * first scan leaves nothing behind (an existing index keeps its previous scan: the scan is one
 * transaction).
 */
export async function openAndScan(
  root: RootArg,
  dbFile: string,
  o: ScanRunOptions,
): Promise<{ db: WritableDB; scanned: ScanResult }> {
  const created = !existsSync(dbFile);
  const db = openIndexForWrite(dbFile);
  try {
    const scanned = await scanStorage(db, root.given, {
      dbFile,
      ...(o.clock ? { now: o.clock } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
      thorough: Boolean(o.thorough),
      full: Boolean(o.full),
    });
    return { db, scanned };
  } catch (err) {
    db.close();
    if (created) removeCreatedIndex(dbFile);
    throw err;
  }
}

export async function runScan(given: string | RootArg, o: ScanRunOptions): Promise<ScanRun> {
  const root = resolveRoot(given);
  const dbFile = indexFileFor(root, o.dbFile);
  const { db, scanned } = await openAndScan(root, dbFile, o);
  db.close();
  return { ...scanned, dbFile };
}
