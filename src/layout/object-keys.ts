/**
 * Object-storage keys of the registry's storage (after distribution's s3-aws driver: a key is the
 * rootdirectory without its leading slash, then the driver path, `docker/registry/v2/...`).
 * Pure: no I/O. Paths relative to docker/registry/v2 are the grammar of layout/paths.ts.
 */
import { REPOSITORIES, REPOSITORY_PARTS, STORAGE_PREFIX, type RepositoryPart } from './paths.js';

/** The key prefix of docker/registry/v2 under a rootdirectory ('' or 'a/b', no slashes at the ends). */
export function v2KeyPrefix(rootDirectory: string): string {
  return rootDirectory === '' ? `${STORAGE_PREFIX}/` : `${rootDirectory}/${STORAGE_PREFIX}/`;
}

/** Where a path relative to docker/registry/v2 lies inside repositories/. */
export type RepositoryKey =
  /** Under a repository's `_layers`, `_manifests` or `_uploads` (rest '' for the part itself). */
  | { kind: 'part'; repo: string; part: RepositoryPart; rest: string }
  /** Under an unknown `_`-prefixed entry of a directory (the registry skips it). */
  | { kind: 'underscore'; repo: string; entry: string; rest: string }
  /** A file that is not inside any `_` entry (a stray file under repositories/). */
  | { kind: 'stray' };

/**
 * Splits `repositories/<name>/<_entry>/<rest>` at the first `_`-prefixed segment, as the registry's
 * walk does: the segments before it are the repository name.
 */
export function repositoryKey(rel: string): RepositoryKey | null {
  const segs = rel.split('/');
  if (segs[0] !== REPOSITORIES) return null;
  const at = segs.findIndex((s, i) => i >= 1 && s.startsWith('_'));
  if (at === -1) return { kind: 'stray' };
  const repo = segs.slice(1, at).join('/');
  const entry = segs[at]!;
  const rest = segs.slice(at + 1).join('/');
  if (repo !== '' && (REPOSITORY_PARTS as readonly string[]).includes(entry))
    return { kind: 'part', repo, part: entry as RepositoryPart, rest };
  return { kind: 'underscore', repo, entry, rest };
}

/** The directories a key implies below `base` (exclusive), e.g. `a/b/c` → `a`, `a/b`. */
export function impliedDirectories(rel: string): string[] {
  const out: string[] = [];
  for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) out.push(rel.slice(0, i));
  return out;
}
