import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Bytes of every `data` file below `dir` (blobs/), walked without regaudit. */
export function duBlobs(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += duBlobs(p);
    else if (e.name === 'data') n += statSync(p).size;
  }
  return n;
}
