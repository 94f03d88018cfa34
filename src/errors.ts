/**
 * Expected failures: each carries the one line the user sees. The CLI entry maps them to exit 2;
 * anything else is a bug and is reported as an internal error.
 */
export class RegauditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad arguments or options. */
export class UsageError extends RegauditError {}
/** The given path is missing, unreadable, or not registry storage. */
export class StorageError extends RegauditError {}
/** The index database cannot be opened, read or written. */
export class IndexError extends RegauditError {}
/** Another prune holds the lock on this storage root. */
export class LockError extends RegauditError {}

/** errno code of a Node fs error, if any. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

/** SQLite result code (`SQLITE_BUSY`, ...) of a better-sqlite3 error, if it is one. */
export function sqliteCode(err: unknown): string | undefined {
  const code = errnoCode(err);
  return code?.startsWith('SQLITE') ? code : undefined;
}

/** A short human description of a Node fs error. */
export function describeFsError(err: unknown): string {
  const code = errnoCode(err);
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'not a directory';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on device';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    default:
      return code ?? (err instanceof Error ? err.message : String(err));
  }
}
