/**
 * The storage seam: the only operations scanning, re-reading and deleting need from the storage
 * under docker/registry/v2 (after distribution's storagedriver.StorageDriver, trimmed to what
 * regaudit does). The filesystem (storage/fs.ts) is the first implementation.
 *
 * Contract, written so that an object store can keep it too:
 * - A path is a '/'-separated string naming an entry; the driver alone decides what it maps to
 *   (the filesystem driver takes absolute paths, an object store a key under its prefix). Callers
 *   build paths through src/layout and never parse them back for I/O.
 * - A directory is whatever has entries below it. `list` returns the immediate children of one
 *   path with their types, in no particular order (callers sort when order matters); an object
 *   store answers it with a delimiter listing, where a common prefix is a `dir`. A missing path
 *   throws with code ENOENT; any other failure throws and the caller records the path as
 *   unreadable (unknown is never empty).
 * - Symbolic links are never followed: `list` and `lstat` report them as `symlink`, and reading a
 *   file through one fails. A store without links simply never returns that type.
 * - `lstat` of a directory may be synthetic on a store without directories (size 0, the newest
 *   time below it, or 0); times are milliseconds since the epoch, fractional where the store
 *   keeps more.
 * - Reads are bounded: a link, a startedat or a manifest, never a blob's data.
 * - `rename` moves one entry (a file or a whole directory) to a path that does not exist yet. On a
 *   filesystem it is one atomic step; on an object store it is a server-side copy of every key
 *   then their deletion, not atomic, so callers must be able to resume after a partial one
 *   (prune does: every step is re-checked on rerun).
 * - `removeFile` removes one non-directory entry; `removeEmptyDir` one directory that has no
 *   entries left (on an object store a no-op: a prefix without keys no longer exists). Neither
 *   removes anything recursively: a tree is removed entry by entry, so a crash stops between two.
 * - Calls are synchronous. The walk runs them on worker threads, where blocking in the kernel is
 *   the point (several reads in flight, no promise per entry); a network-backed store offers its
 *   own task runner or scan over the same records rather than this per-entry walk.
 */

export type EntryType = 'dir' | 'file' | 'symlink' | 'other';

export interface DirEntry {
  name: string;
  type: EntryType;
}

export interface EntryStat {
  type: EntryType;
  size: number;
  /** Unrounded, as the store keeps it (stamps hash it). */
  mtimeMs: number;
  ctimeMs: number;
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

export interface BoundedFile {
  /** The whole content, or null when it is larger than the bound. */
  buf: Buffer | null;
  size: number;
  mtimeMs: number;
}

/** What scanning and re-reading need. */
export interface StorageReader {
  /** `fs`, or the kind of store; serialisable, so a worker thread can build its own driver. */
  readonly kind: string;
  list(path: string): DirEntry[];
  lstat(path: string): EntryStat;
  /** At most `max` bytes of a regular file (code ENOTFILE when it is not one). */
  readSmall(path: string, max: number): SmallFile;
  /** A whole regular file when it holds at most `max` bytes. */
  readBounded(path: string, max: number): BoundedFile;
}

/** What deleting needs: each call is one step a crash can fall between. */
export interface StorageWriter {
  mkdir(path: string): void;
  rename(from: string, to: string): void;
  removeFile(path: string): void;
  removeEmptyDir(path: string): void;
}

export interface StorageDriver extends StorageReader, StorageWriter {}
