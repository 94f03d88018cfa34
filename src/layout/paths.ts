/**
 * The storage grammar of docker/registry/v2, both ways (after distribution's registry/storage/paths.go).
 * All paths here are POSIX and relative to the `docker/registry/v2` directory.
 *
 *   blobs/<alg>/<hex[0:2]>/<hex>/data
 *   repositories/<name>/_layers/<alg>/<hex>/link
 *   repositories/<name>/_manifests/revisions/<alg>/<hex>/link
 *   repositories/<name>/_manifests/tags/<tag>/current/link
 *   repositories/<name>/_manifests/tags/<tag>/index/<alg>/<hex>/link
 *   repositories/<name>/_uploads/<id>/{data,startedat,hashstates/<alg>/<offset>}
 *
 * Nothing in layout/ touches the filesystem.
 */
import { digestOf, splitDigest, type Digest } from './digest.js';

export const STORAGE_PREFIX = 'docker/registry/v2';
export const REPOSITORIES = 'repositories';
export const BLOBS = 'blobs';
/**
 * The three directories that make a directory a repository; everything prune may remove. In the
 * order prune takes them away (the 3.x catalog marker, then the 2.x one, then uploads); restore puts
 * them back in the reverse order, so a half-done run never shows a catalog marker alone.
 */
export const REPOSITORY_PARTS = ['_manifests', '_layers', '_uploads'] as const;
export type RepositoryPart = (typeof REPOSITORY_PARTS)[number];

/** Names regaudit itself writes into storage. All start with `_` or `.`: both catalogs and GC skip them. */
export const TRASH_DIR = '_regaudit_trash';
/** Staging name of a part restore is copying back: `_regaudit_restoring<part>`. */
export const RESTORING_PREFIX = '_regaudit_restoring';
export const PRUNE_LOCK_FILE = '.regaudit-prune.lock';

/** The file every digest directory holds: a link in a repository, the content under blobs/. */
export const LINK_FILE = 'link';
export const DATA_FILE = 'data';

/**
 * A path inside one repository directory (relative to `repositories/<name>`). Digest trees
 * (`_layers`, `_manifests/revisions`, `tags/<t>/index`) are named up to their algorithm directory.
 */
export type RepoPathSpec =
  | { kind: 'part'; part: RepositoryPart }
  | { kind: 'layersDir'; alg?: string }
  | { kind: 'revisionsDir'; alg?: string }
  | { kind: 'tagsDir' }
  | { kind: 'tagDir'; tag: string }
  | { kind: 'tagCurrentDir'; tag: string }
  | { kind: 'tagIndexDir'; tag: string; alg?: string }
  | { kind: 'layerLink'; digest: Digest }
  | { kind: 'revisionLink'; digest: Digest }
  | { kind: 'tagCurrentLink'; tag: string }
  | { kind: 'tagIndexLink'; tag: string; digest: Digest }
  | { kind: 'upload'; id: string }
  | { kind: 'uploadStartedAt'; id: string }
  | { kind: 'uploadData'; id: string }
  | { kind: 'trash' }
  | { kind: 'trashPart'; part: RepositoryPart }
  /** `part` is a part, or the trash a quarantine kept whole. */
  | { kind: 'restoring'; part: string };

/** RepoPathSpec → path relative to the repository directory. */
export function repoPathFor(spec: RepoPathSpec): string {
  switch (spec.kind) {
    case 'part':
      return spec.part;
    case 'layersDir':
      return withAlg('_layers', spec.alg);
    case 'revisionsDir':
      return withAlg('_manifests/revisions', spec.alg);
    case 'tagsDir':
      return '_manifests/tags';
    case 'tagDir':
      return `_manifests/tags/${spec.tag}`;
    case 'tagCurrentDir':
      return `_manifests/tags/${spec.tag}/current`;
    case 'tagIndexDir':
      return withAlg(`_manifests/tags/${spec.tag}/index`, spec.alg);
    case 'layerLink':
      return `_layers/${linkTail(spec.digest)}`;
    case 'revisionLink':
      return `_manifests/revisions/${linkTail(spec.digest)}`;
    case 'tagCurrentLink':
      return `_manifests/tags/${spec.tag}/current/${LINK_FILE}`;
    case 'tagIndexLink':
      return `_manifests/tags/${spec.tag}/index/${linkTail(spec.digest)}`;
    case 'upload':
      return `_uploads/${spec.id}`;
    case 'uploadStartedAt':
      return `_uploads/${spec.id}/startedat`;
    case 'uploadData':
      return `_uploads/${spec.id}/${DATA_FILE}`;
    case 'trash':
      return TRASH_DIR;
    case 'trashPart':
      return `${TRASH_DIR}/${spec.part}`;
    case 'restoring':
      return `${RESTORING_PREFIX}${spec.part}`;
    default: {
      const never: never = spec;
      throw new Error(`unknown repository path spec ${JSON.stringify(never)}`);
    }
  }
}

export type PathSpec =
  | { kind: 'blobData'; digest: Digest }
  | { kind: 'repository'; repo: string }
  | { kind: 'repositoryPart'; repo: string; part: RepositoryPart }
  | { kind: 'layerLink'; repo: string; digest: Digest }
  | { kind: 'revisionLink'; repo: string; digest: Digest }
  | { kind: 'tagsDir'; repo: string }
  | { kind: 'tagCurrentLink'; repo: string; tag: string }
  | { kind: 'tagIndexLink'; repo: string; tag: string; digest: Digest }
  | { kind: 'upload'; repo: string; id: string }
  | { kind: 'uploadStartedAt'; repo: string; id: string }
  | { kind: 'uploadData'; repo: string; id: string }
  // Directories the walk names, and regaudit's own entries (not returned by parsePath).
  | { kind: 'repositories' }
  | { kind: 'blobs'; alg?: string }
  | { kind: 'blobFan'; alg: string; fan: string }
  | { kind: 'trash'; repo: string }
  | { kind: 'pruneLock' };

/** PathSpec → path relative to docker/registry/v2. */
export function pathFor(spec: PathSpec): string {
  switch (spec.kind) {
    case 'blobData': {
      const { alg, hex } = splitDigest(spec.digest);
      return `${BLOBS}/${alg}/${hex.slice(0, 2)}/${hex}/${DATA_FILE}`;
    }
    case 'repository':
      return repositoryPath(spec.repo);
    case 'repositoryPart':
      return inRepository(spec.repo, { kind: 'part', part: spec.part });
    case 'layerLink':
    case 'revisionLink':
    case 'tagsDir':
    case 'tagCurrentLink':
    case 'tagIndexLink':
    case 'upload':
    case 'uploadStartedAt':
    case 'uploadData':
    case 'trash': {
      const { repo, ...inside } = spec;
      return inRepository(repo, inside);
    }
    case 'repositories':
      return REPOSITORIES;
    case 'blobs':
      return withAlg(BLOBS, spec.alg);
    case 'blobFan':
      return `${BLOBS}/${spec.alg}/${spec.fan}`;
    case 'pruneLock':
      return PRUNE_LOCK_FILE;
    default: {
      const never: never = spec;
      throw new Error(`unknown path spec ${JSON.stringify(never)}`);
    }
  }
}

/** `repositories/<name>` (relative to docker/registry/v2); the empty name is repositories/ itself. */
export function repositoryPath(name: string): string {
  return name === '' ? REPOSITORIES : `${REPOSITORIES}/${name}`;
}

/** A path inside repository `name`, relative to docker/registry/v2. */
export function inRepository(name: string, spec: RepoPathSpec): string {
  return `${repositoryPath(name)}/${repoPathFor(spec)}`;
}

/** Inside a digest directory of a blob fan-out directory (relative to the fan directory): `<hex>/data`. */
export function fanDataPath(hex: string): string {
  return `${hex}/${DATA_FILE}`;
}

function withAlg(dir: string, alg: string | undefined): string {
  return alg === undefined ? dir : `${dir}/${alg}`;
}

function linkTail(d: Digest): string {
  const { alg, hex } = splitDigest(d);
  return `${alg}/${hex}/${LINK_FILE}`;
}

export type ParsedPath = PathSpec | { kind: 'unrecognized'; path: string; reason: string };

/**
 * Path relative to docker/registry/v2 → what it is. The inverse of pathFor for files and the
 * repository-level directories; anything else is `unrecognized` with a reason, never an exception.
 */
export function parsePath(rel: string): ParsedPath {
  const segs = rel.split('/');
  const bad = (reason: string): ParsedPath => ({ kind: 'unrecognized', path: rel, reason });
  if (segs.some((s) => s === '' || s === '.' || s === '..')) return bad('empty, . or .. segment');
  if (segs[0] === BLOBS) {
    // blobs/sha256/ab/abcdef.../data
    const [, alg, fan, hex, file] = segs;
    if (segs.length !== 5 || file !== 'data' || alg === undefined || hex === undefined)
      return bad('not blobs/<alg>/<xx>/<hex>/data');
    const digest = digestOf(alg, hex);
    if (!digest) return bad('invalid digest in blob path');
    if (fan !== hex.slice(0, 2)) return bad('fan-out directory does not match digest');
    return { kind: 'blobData', digest };
  }
  if (segs[0] !== REPOSITORIES) return bad('outside blobs/ and repositories/');
  const partAt = segs.findIndex((s, i) => i > 0 && s.startsWith('_'));
  if (partAt === -1) {
    if (segs.length < 2) return bad('repositories/ itself');
    return { kind: 'repository', repo: segs.slice(1).join('/') };
  }
  if (partAt === 1) return bad('repository name is empty');
  const repo = segs.slice(1, partAt).join('/');
  const part = segs[partAt]!;
  const rest = segs.slice(partAt + 1);
  if (!(REPOSITORY_PARTS as readonly string[]).includes(part)) return bad(`unknown directory ${part}`);
  if (rest.length === 0) return { kind: 'repositoryPart', repo, part: part as RepositoryPart };
  if (part === '_layers') {
    // _layers/sha256/<hex>/link
    const d = linkDigest(rest);
    return d ? { kind: 'layerLink', repo, digest: d } : bad('not _layers/<alg>/<hex>/link');
  }
  if (part === '_manifests') {
    if (rest[0] === 'revisions') {
      // _manifests/revisions/sha256/<hex>/link
      const d = linkDigest(rest.slice(1));
      return d ? { kind: 'revisionLink', repo, digest: d } : bad('not _manifests/revisions/<alg>/<hex>/link');
    }
    if (rest[0] === 'tags') {
      if (rest.length === 1) return { kind: 'tagsDir', repo };
      const tag = rest[1]!;
      // _manifests/tags/<tag>/current/link
      if (rest.length === 4 && rest[2] === 'current' && rest[3] === 'link')
        return { kind: 'tagCurrentLink', repo, tag };
      // _manifests/tags/<tag>/index/sha256/<hex>/link
      if (rest[2] === 'index') {
        const d = linkDigest(rest.slice(3));
        if (d) return { kind: 'tagIndexLink', repo, tag, digest: d };
      }
      return bad('not a tag link path');
    }
    return bad('unknown entry under _manifests');
  }
  // _uploads/<id>[/startedat|/data]
  const id = rest[0]!;
  if (rest.length === 1) return { kind: 'upload', repo, id };
  if (rest.length === 2 && rest[1] === 'startedat') return { kind: 'uploadStartedAt', repo, id };
  if (rest.length === 2 && rest[1] === 'data') return { kind: 'uploadData', repo, id };
  return bad('unknown entry under _uploads/<id>');
}

function linkDigest(rest: string[]): Digest | null {
  if (rest.length !== 3 || rest[2] !== 'link') return null;
  return digestOf(rest[0]!, rest[1]!);
}
