import { statSync } from 'node:fs';
import path from 'node:path';
import { StorageError, describeFsError, errnoCode } from '../errors.js';

export interface StorageRoot {
  /** Absolute path of docker/registry/v2. */
  v2: string;
  /** The registry's rootdirectory (three levels above v2). */
  rootDirectory: string;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Accepts the registry's rootdirectory, docker/registry/v2, or anything between, and finds v2.
 * A v2 directory without repositories/ or blobs/ is an empty store, not an error (GC treats it so).
 */
export function resolveStorageRoot(given: string): StorageRoot {
  const abs = path.resolve(given);
  try {
    if (!statSync(abs).isDirectory()) throw new StorageError(`${given}: not a directory`);
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw new StorageError(`${given}: ${describeFsError(err)}`);
  }
  const candidates = [
    path.join(abs, 'docker', 'registry', 'v2'),
    path.join(abs, 'registry', 'v2'),
    path.join(abs, 'v2'),
  ];
  const tail = abs.split(path.sep).slice(-3).join('/');
  if (
    tail === 'docker/registry/v2' ||
    (path.basename(abs) === 'v2' && (isDir(path.join(abs, 'repositories')) || isDir(path.join(abs, 'blobs'))))
  ) {
    candidates.unshift(abs);
  }
  for (const c of candidates) {
    if (!isDir(c)) continue;
    const rootDirectory = c.endsWith(path.join('docker', 'registry', 'v2'))
      ? path.resolve(c, '..', '..', '..')
      : path.dirname(c);
    return { v2: c, rootDirectory };
  }
  // Distinguish "cannot look inside" from "not storage".
  try {
    statSync(path.join(abs, 'docker'));
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EACCES' || code === 'EPERM') throw new StorageError(`${given}: ${describeFsError(err)}`);
  }
  throw new StorageError(`${given}: not registry storage (no docker/registry/v2 below it)`);
}
