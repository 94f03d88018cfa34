/** The `scan` use case: walk a storage root into its index (the default one unless a file is named). */
import { defaultIndexFile, ensureIndexDir } from '../index/location.js';
import { openIndexForWrite, type WritableDB } from '../index/open.js';
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

/**
 * Scans into an already open index; `root` is resolved (a bad root fails before any index file is
 * created or opened).
 */
export async function scanInto(db: WritableDB, dbFile: string, root: RootArg, o: ScanRunOptions): Promise<ScanResult> {
  return scanStorage(db, root.given, {
    dbFile,
    ...(o.clock ? { now: o.clock } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
    thorough: Boolean(o.thorough),
    full: Boolean(o.full),
  });
}

/** The index file a command with a storage root uses: the named one, else the root's default (its directory created). */
export function indexFileFor(root: RootArg, dbFile: string | undefined): string {
  if (dbFile !== undefined) return dbFile;
  const file = defaultIndexFile(root.resolved.v2);
  ensureIndexDir(file);
  return file;
}

export async function runScan(given: string | RootArg, o: ScanRunOptions): Promise<ScanRun> {
  const root = resolveRoot(given);
  const dbFile = indexFileFor(root, o.dbFile);
  const db = openIndexForWrite(dbFile);
  try {
    return { ...(await scanInto(db, dbFile, root, o)), dbFile };
  } finally {
    db.close();
  }
}
