/**
 * Where the index lives when --db and REGAUDIT_DB are not given: one file per storage root in the
 * user's cache directory ($XDG_CACHE_HOME/regaudit, else ~/.cache/regaudit), named after the
 * resolved docker/registry/v2 path, so every command finds it from any working directory.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IndexError, describeFsError, errnoCode } from '../errors.js';

/** The directory holding default index files (not created here). */
export function indexCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec ignores a relative XDG_CACHE_HOME.
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'regaudit');
}

/** The default index file of a storage root: readable name, plus a hash of the full path so two roots never share. */
export function defaultIndexFile(v2: string, env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256').update(v2).digest('hex').slice(0, 12);
  // A bucket's root is a URL (s3://bucket/<rootdirectory>/docker/registry/v2), not a path to resolve.
  const rootDirectory = v2.startsWith('s3://')
    ? v2.replace(/\/docker\/registry\/v2$/, '')
    : path.resolve(v2, '..', '..', '..');
  const slug = rootDirectory.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'root';
  return path.join(indexCacheDir(env), `${slug.slice(-60)}-${hash}.db`);
}

/** Creates the cache directory before a scan writes its default index there. */
export function ensureIndexDir(file: string): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new IndexError(`${path.dirname(file)}: cannot create the index directory (${describeFsError(err)})`);
  }
}

/**
 * The index a command without a storage root reads: the only default index there is. With none or
 * several, a one-line error says what to pass instead (guessing among several roots could report on
 * the wrong registry).
 */
export function soleDefaultIndex(env: NodeJS.ProcessEnv = process.env): string {
  const dir = indexCacheDir(env);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.db'));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw new IndexError(`${dir}: ${describeFsError(err)}`);
  }
  names.sort();
  if (names.length === 1) return path.join(dir, names[0]!);
  if (names.length === 0)
    throw new IndexError(`no index in ${dir}; run "regaudit scan <root>" first, or pass --db (or set REGAUDIT_DB)`);
  throw new IndexError(
    `${names.length} indexes in ${dir} (one per storage root): name the storage root, or pass --db (or set REGAUDIT_DB)`,
  );
}
