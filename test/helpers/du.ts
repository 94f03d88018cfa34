import { statSync } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';

/** Bytes of every `data` file below `dir` (blobs/), found by fast-glob: a walker independent of regaudit's. */
export function duBlobs(dir: string): number {
  let n = 0;
  for (const rel of fg.sync('**/data', { cwd: dir, dot: true, followSymbolicLinks: false }))
    n += statSync(path.join(dir, rel)).size;
  return n;
}
