/** Shared by the gc tests: a built tree removed after the test, and `runGc` on it with the usual options. */
import path from 'node:path';
import { runGc, type GcOptions } from '../../src/app/gc.js';
import { StorageTree } from '../helpers/tree.js';

export const HOUR = 3_600_000;

export function tree(t: { after(fn: () => void): void }): StorageTree {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  return s;
}

/** A dry run from a scan of `s` into s.root/idx.db, with a one-hour --min-age and a week's --upload-age. */
export function gc(s: StorageTree, o: Partial<GcOptions> = {}): ReturnType<typeof runGc> {
  return runGc({
    dbFile: path.join(s.root, 'idx.db'),
    root: s.root,
    format: 'json',
    jobs: 0,
    apply: false,
    now: Date.now(),
    minAgeMs: HOUR,
    uploadAgeMs: 168 * HOUR,
    deleteUntagged: false,
    layerLinks: true,
    uploads: true,
    repositories: true,
    ...o,
  });
}
