/**
 * Worker thread: hashes blob files. Reads each file through one fixed buffer (flat memory whatever
 * the blob size), never follows a symbolic link (O_NOFOLLOW), and reports a file that vanished or
 * changed while it was read as such instead of failing.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { describeFsError, errnoCode } from '../errors.js';
import type { HashJob, HashReply, HashResult } from './protocol.js';

const BUFFER_BYTES = 1 << 20;
/** A progress message every this many bytes, so a multi-GB blob moves the progress line too. */
const PROGRESS_EVERY = 32 << 20;

const buffer = Buffer.allocUnsafe(BUFFER_BYTES);

function same(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.dev === b.dev;
}

export function hashFile(job: HashJob, onBytes: (n: number) => void): HashResult {
  const base = { id: job.id, size: job.size, mtimeMs: job.mtimeMs };
  let fd: number;
  try {
    fd = openSync(job.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = errnoCode(err);
    const detail =
      code === 'ELOOP'
        ? 'data is a symbolic link (not followed)'
        : code === 'ENOENT'
          ? 'vanished since the scan'
          : describeFsError(err);
    return { ...base, status: 'unreadable', detail };
  }
  try {
    const before = fstatSync(fd);
    const stat = { size: before.size, mtimeMs: Math.trunc(before.mtimeMs) };
    if (!before.isFile()) return { ...base, ...stat, status: 'unreadable', detail: 'data is not a regular file' };
    const hash = createHash(job.alg);
    let read = 0;
    let unreported = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, BUFFER_BYTES, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      read += n;
      unreported += n;
      if (unreported >= PROGRESS_EVERY) {
        onBytes(unreported);
        unreported = 0;
      }
    }
    onBytes(unreported);
    const after = fstatSync(fd);
    let now: Stats | undefined;
    try {
      now = lstatSync(job.path);
    } catch {
      // gone: said below
    }
    if (!now) return { ...base, ...stat, status: 'unreadable', detail: 'vanished while being hashed' };
    if (read !== before.size || !same(before, after) || !same(before, now))
      return { ...base, ...stat, status: 'unreadable', detail: 'changed while being hashed' };
    const hex = hash.digest('hex');
    return hex === job.hex
      ? { ...base, ...stat, status: 'ok' }
      : { ...base, ...stat, status: 'corrupt', detail: `${job.alg}:${hex}` };
  } catch (err) {
    return { ...base, status: 'unreadable', detail: describeFsError(err) };
  } finally {
    closeSync(fd);
  }
}

parentPort?.on('message', (jobs: HashJob[]) => {
  for (const job of jobs) {
    const result = hashFile(job, (bytes) => parentPort!.postMessage({ type: 'bytes', bytes } satisfies HashReply));
    parentPort!.postMessage({ type: 'result', result } satisfies HashReply);
  }
  parentPort!.postMessage({ type: 'idle' } satisfies HashReply);
});
