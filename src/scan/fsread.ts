import { closeSync, fstatSync, lstatSync, openSync, readSync, readdirSync, constants, type Dirent } from 'node:fs';

/** Directory entry type from the dirent, falling back to lstat when the filesystem gives none. */
export type EntryType = 'dir' | 'file' | 'symlink' | 'other';

export function entryType(e: Dirent, abs: string): EntryType {
  if (e.isDirectory()) return 'dir';
  if (e.isFile()) return 'file';
  if (e.isSymbolicLink()) return 'symlink';
  if (e.isBlockDevice() || e.isCharacterDevice() || e.isFIFO() || e.isSocket()) return 'other';
  try {
    const st = lstatSync(abs);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
  } catch {
    return 'other';
  }
}

export function listDir(abs: string): Dirent[] {
  return readdirSync(abs, { withFileTypes: true });
}

export interface SmallFile {
  text: string;
  /** True when the file holds more than `max` bytes; `text` is then its first `max` bytes. */
  truncated: boolean;
  size: number;
  mtimeMs: number;
  /** Unrounded mtime and ctime, for stamps. */
  mtimeExact: number;
  ctimeMs: number;
}

const O_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads at most `max` bytes of a regular file without following a symlink (O_NOFOLLOW),
 * and never blocking on a FIFO (O_NONBLOCK + a regular-file check).
 */
export function readSmallFile(abs: string, max: number): SmallFile {
  const fd = openSync(abs, O_FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
    const want = Math.min(max + 1, st.size + 1);
    const buf = want <= scratch.length ? scratch : Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = readSync(fd, buf, got, want - got, got);
      if (n === 0) break;
      got += n;
    }
    const truncated = got > max;
    return {
      text: buf.toString('latin1', 0, Math.min(got, max)),
      truncated,
      size: st.size,
      mtimeMs: Math.trunc(st.mtimeMs),
      mtimeExact: st.mtimeMs,
      ctimeMs: st.ctimeMs,
    };
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole regular file up to `max` bytes into a fresh Buffer (manifests). */
export function readFileBounded(abs: string, max: number): { buf: Buffer | null; size: number; mtimeMs: number } {
  const fd = openSync(abs, O_FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
    if (st.size > max) return { buf: null, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return { buf: buf.subarray(0, got), size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
  } finally {
    closeSync(fd);
  }
}
