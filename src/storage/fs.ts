/** The filesystem storage driver (storage/driver.ts): paths are absolute; nothing follows a symlink. */
import * as fs from 'node:fs';
import type { BoundedFile, DirEntry, EntryStat, EntryType, SmallFile, StorageDriver } from './driver.js';

/** Directory entry type from the dirent, falling back to lstat when the filesystem gives none. */
function direntType(e: fs.Dirent, abs: string): EntryType {
  if (e.isDirectory()) return 'dir';
  if (e.isFile()) return 'file';
  if (e.isSymbolicLink()) return 'symlink';
  if (e.isBlockDevice() || e.isCharacterDevice() || e.isFIFO() || e.isSocket()) return 'other';
  try {
    return statType(fs.lstatSync(abs));
  } catch {
    return 'other';
  }
}

function statType(st: fs.Stats): EntryType {
  return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
}

const O_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);
const scratch = Buffer.allocUnsafe(64 * 1024);

/** Opens without following a symlink (O_NOFOLLOW) and never blocking on a FIFO (O_NONBLOCK + a regular-file check). */
function withRegularFile<T>(abs: string, body: (fd: number, st: fs.Stats) => T): T {
  const fd = fs.openSync(abs, O_FLAGS);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
    return body(fd, st);
  } finally {
    fs.closeSync(fd);
  }
}

function readInto(fd: number, buf: Buffer, want: number): number {
  let got = 0;
  while (got < want) {
    const n = fs.readSync(fd, buf, got, want - got, got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

export const fsStorage: StorageDriver = {
  kind: 'fs',
  list(abs: string): DirEntry[] {
    return fs
      .readdirSync(abs, { withFileTypes: true })
      .map((e) => ({ name: e.name, type: direntType(e, `${abs}/${e.name}`) }));
  },
  lstat(abs: string): EntryStat {
    const st = fs.lstatSync(abs);
    return { type: statType(st), size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
  },
  readSmall(abs: string, max: number): SmallFile {
    return withRegularFile(abs, (fd, st) => {
      const want = Math.min(max + 1, st.size + 1);
      const buf = want <= scratch.length ? scratch : Buffer.allocUnsafe(want);
      const got = readInto(fd, buf, want);
      return {
        text: buf.toString('latin1', 0, Math.min(got, max)),
        truncated: got > max,
        size: st.size,
        mtimeMs: Math.trunc(st.mtimeMs),
        mtimeExact: st.mtimeMs,
        ctimeMs: st.ctimeMs,
      };
    });
  },
  readBounded(abs: string, max: number): BoundedFile {
    return withRegularFile(abs, (fd, st) => {
      if (st.size > max) return { buf: null, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
      const buf = Buffer.allocUnsafe(st.size);
      const got = readInto(fd, buf, st.size);
      return { buf: buf.subarray(0, got), size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
    });
  },
  mkdir: (p) => fs.mkdirSync(p),
  rename: (a, b) => fs.renameSync(a, b),
  removeFile: (p) => fs.unlinkSync(p),
  removeEmptyDir: (p) => fs.rmdirSync(p),
};
