import type { DB } from '../index/open.js';
import { indexFailure } from '../index/open.js';
import { completeScan, insertScan } from '../index/scans.js';
import { IndexWriter } from '../index/writes.js';
import { RegauditError } from '../errors.js';
import { resolveStorageRoot, type StorageRoot } from './root.js';
import { StorageWalker, type WalkProgress } from './walk.js';

export interface ScanOptions {
  dbFile: string;
  now?: () => number;
  onProgress?: (p: WalkProgress) => void;
}

export interface ScanResult {
  scanId: number;
  root: StorageRoot;
  files: number;
  dirs: number;
  repositories: number;
  elapsedMs: number;
}

/**
 * Walks the storage under `given` into a new scan of the index, in one transaction: until it
 * commits, the previous scan of that root stays the current one (an interrupted or failed scan
 * leaves nothing behind that looks complete).
 */
export function scanStorage(db: DB, given: string, opts: ScanOptions): ScanResult {
  const now = opts.now ?? Date.now;
  const root = resolveStorageRoot(given);
  const started = now();
  try {
    return db.transaction(() => {
      const scanId = insertScan(db, root.v2, given, started);
      const walker = new StorageWalker(root.v2, new IndexWriter(db, scanId), { onProgress: opts.onProgress });
      walker.run();
      const { files, dirs, repositories } = walker.progress;
      completeScan(db, scanId, root.v2, { files, dirs, finishedMs: now() });
      return { scanId, root, files, dirs, repositories, elapsedMs: now() - started };
    })();
  } catch (err) {
    if (err instanceof RegauditError) throw err;
    if (typeof err === 'object' && err && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE')) {
      throw indexFailure(opts.dbFile, err);
    }
    throw err;
  }
}
