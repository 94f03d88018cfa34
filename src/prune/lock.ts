import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { pathFor } from '../layout/paths.js';
import { LockError, StorageError, describeFsError, errnoCode } from '../errors.js';

export const QUARANTINE_LOCK_FILE = '.regaudit-quarantine.lock';

/** Whether a process of this host still runs (a lock of a dead one is stale). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/**
 * Takes the prune lock: a file created with O_EXCL beside blobs/ and repositories/ (where the
 * registry never looks). A lock left by a dead process on this host is stale and taken over.
 * Returns the release function.
 */
export function acquirePruneLock(v2: string): () => void {
  return acquireLock(`${v2}/${pathFor({ kind: 'pruneLock' })}`, 'prune');
}

/** The lock of a quarantine directory, held by whatever adds to it, restores from it or purges it. */
export function acquireQuarantineLock(dir: string): () => void {
  return acquireLock(`${dir}/${QUARANTINE_LOCK_FILE}`, 'prune, restore or purge of this quarantine');
}

function acquireLock(file: string, holderKind: string): () => void {
  const body = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, body);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EROFS')
        throw new StorageError(`${file}: read-only file system; nothing can be changed there (nothing was changed)`);
      if (code !== 'EEXIST')
        throw new StorageError(`${file}: cannot create lock (${describeFsError(err)}); nothing was changed`);
      let holder: { pid?: number; host?: string; since?: string } = {};
      try {
        holder = JSON.parse(readFileSync(file, 'utf8')) as typeof holder;
      } catch {
        // unreadable or half-written lock: treated as held
      }
      const stale = holder.host === hostname() && typeof holder.pid === 'number' && !alive(holder.pid);
      if (!stale || attempt > 0) {
        throw new LockError(
          `${file}: another ${holderKind} holds the lock (pid ${holder.pid ?? '?'} on ${holder.host ?? '?'} since ${holder.since ?? '?'}); remove the file if that process is gone`,
        );
      }
      try {
        unlinkSync(file);
      } catch {
        // raced with another taker; the retry decides
      }
    }
  }
  throw new LockError(`${file}: could not take the lock`);
}
