/**
 * The prune lock on object storage: an object beside blobs/ and repositories/ (where the registry
 * never looks), with the lock file's name and content. Created with a conditional PUT
 * (If-None-Match: *), so two prunes cannot both take it; a lock left by a dead process on this host
 * is stale and taken over, as on a filesystem.
 */
import { hostname } from 'node:os';
import { LockError } from '../errors.js';
import { pathFor } from '../layout/paths.js';
import { alive } from './lock.js';
import type { Bucket } from '../storage/s3/client.js';

export async function acquireBucketLock(bucket: Bucket): Promise<() => Promise<void>> {
  const key = bucket.key(pathFor({ kind: 'pruneLock' }));
  const where = `s3://${bucket.location.bucket}/${key}`;
  const body = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await bucket.put(key, body, true)) {
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await bucket.remove([key]);
      };
    }
    let holder: { pid?: number; host?: string; since?: string } = {};
    try {
      holder = JSON.parse((await bucket.text(key)) ?? '{}') as typeof holder;
    } catch {
      // unreadable or half-written: held
    }
    const stale = holder.host === hostname() && typeof holder.pid === 'number' && !alive(holder.pid);
    if (!stale || attempt > 0)
      throw new LockError(
        `${where}: another prune holds the lock (pid ${holder.pid ?? '?'} on ${holder.host ?? '?'} since ${holder.since ?? '?'}); delete the object if that process is gone`,
      );
    await bucket.remove([key]);
  }
  throw new LockError(`${where}: could not take the lock`);
}
