import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import type { StorageDriver } from '../storage/driver.js';
import { fsStorage } from '../storage/fs.js';

/**
 * The storage driver prune, restore and purge go through, plus the filesystem-only steps of the
 * quarantine. Its mutating calls are the only ones that change anything, behind one seam so tests
 * can count them and stop the process between any two (crash-safety tests). Each call is one step
 * a kill can fall between; multi-step work (removing a tree) is built from them.
 */
export interface MutatingFs extends StorageDriver {
  /** Copies a tree to a new path on any filesystem, keeping modes, owners and nanosecond times, then syncs it. */
  copyTree(from: string, to: string): void;
  /** Replaces a file's content atomically and durably (temporary file, fsync, rename, fsync of the directory). */
  writeFileAtomic(path: string, data: string): void;
  /** Sets owner, mode and modification time (to the nanosecond) of a directory this code re-created. */
  setAttributes(path: string, attrs: { mode?: number; uid?: number; gid?: number; mtimeNs?: bigint }): void;
}

function runTool(bin: string, args: string[]): void {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const msg = (r.stderr || `${bin} exited ${r.status ?? r.signal}`).trim().split('\n')[0] ?? '';
    const code = /no space left/i.test(msg)
      ? 'ENOSPC'
      : /read-only file system/i.test(msg)
        ? 'EROFS'
        : /permission denied/i.test(msg)
          ? 'EACCES'
          : undefined;
    throw Object.assign(new Error(`${bin}: ${msg}`), code ? { code } : {});
  }
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** "1764312594123456789" ns → touch's "@1764312594.123456789". */
function touchDate(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `@${s}.${frac}`;
}

export const realFs: MutatingFs = {
  ...fsStorage,
  copyTree: (from, to) => {
    // GNU cp -a keeps modes, owners, symlinks (never followed) and nanosecond times, which Node's
    // utimes (double seconds) cannot set exactly. sync -f flushes the target filesystem before the
    // caller removes the source.
    runTool('cp', ['-a', '--no-target-directory', '--', from, to]);
    runTool('sync', ['-f', '--', to]);
  },
  writeFileAtomic: (p, data) => {
    const tmp = `${p}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.renameSync(tmp, p);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fsyncPath(path.dirname(p));
  },
  setAttributes: (p, a) => {
    if (a.uid !== undefined && a.gid !== undefined) {
      try {
        fs.lchownSync(p, a.uid, a.gid);
      } catch (err) {
        // An unprivileged restore cannot give a directory away; the content is what matters.
        if (errnoCode(err) !== 'EPERM') throw err;
      }
    }
    if (a.mode !== undefined) fs.chmodSync(p, a.mode & 0o7777);
    if (a.mtimeNs !== undefined) runTool('touch', ['-h', '-m', '-d', touchDate(a.mtimeNs), '--', p]);
  },
};

/**
 * Removes a tree bottom-up with unlink/rmdir through `mfs` (so a crash test can stop between any
 * two removals). Never follows a symbolic link: a link is unlinked, its target untouched.
 * A missing path is not an error.
 */
export function removeTree(mfs: StorageDriver, abs: string): void {
  let type: string;
  try {
    type = mfs.lstat(abs).type;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  if (type !== 'dir') {
    mfs.removeFile(abs);
    return;
  }
  for (const e of mfs.list(abs)) removeTree(mfs, `${abs}/${e.name}`);
  mfs.removeEmptyDir(abs);
}

/**
 * Wraps `inner` so that the process is killed with SIGKILL right before mutating call number
 * REGAUDIT_CRASH_AT (1-based). Only the crash-safety tests set it.
 */
export function crashInjectingFs(inner: MutatingFs, crashAt: number): MutatingFs {
  let calls = 0;
  const gate = (): void => {
    calls++;
    if (calls === crashAt) process.kill(process.pid, 'SIGKILL');
  };
  return {
    kind: inner.kind,
    list: (p) => inner.list(p),
    lstat: (p) => inner.lstat(p),
    readSmall: (p, max) => inner.readSmall(p, max),
    readBounded: (p, max) => inner.readBounded(p, max),
    mkdir: (p) => (gate(), inner.mkdir(p)),
    rename: (a, b) => (gate(), inner.rename(a, b)),
    removeFile: (p) => (gate(), inner.removeFile(p)),
    removeEmptyDir: (p) => (gate(), inner.removeEmptyDir(p)),
    copyTree: (a, b) => (gate(), inner.copyTree(a, b)),
    writeFileAtomic: (p, d) => (gate(), inner.writeFileAtomic(p, d)),
    setAttributes: (p, a) => (gate(), inner.setAttributes(p, a)),
  };
}

/** The filesystem seam for this process: crash-injecting when REGAUDIT_CRASH_AT=N is set (tests only). */
export function processFs(): MutatingFs {
  const crashAt = Number(process.env.REGAUDIT_CRASH_AT ?? '');
  return Number.isInteger(crashAt) && crashAt > 0 ? crashInjectingFs(realFs, crashAt) : realFs;
}
