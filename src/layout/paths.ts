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
/** The three directories that make a directory a repository; everything prune may remove. */
export const REPOSITORY_PARTS = ['_layers', '_manifests', '_uploads'] as const;
export type RepositoryPart = (typeof REPOSITORY_PARTS)[number];

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
  | { kind: 'uploadData'; repo: string; id: string };

/** PathSpec → path relative to docker/registry/v2. */
export function pathFor(spec: PathSpec): string {
  switch (spec.kind) {
    case 'blobData': {
      const { alg, hex } = splitDigest(spec.digest);
      return `${BLOBS}/${alg}/${hex.slice(0, 2)}/${hex}/data`;
    }
    case 'repository':
      return `${REPOSITORIES}/${spec.repo}`;
    case 'repositoryPart':
      return `${REPOSITORIES}/${spec.repo}/${spec.part}`;
    case 'layerLink':
      return `${REPOSITORIES}/${spec.repo}/_layers/${linkTail(spec.digest)}`;
    case 'revisionLink':
      return `${REPOSITORIES}/${spec.repo}/_manifests/revisions/${linkTail(spec.digest)}`;
    case 'tagsDir':
      return `${REPOSITORIES}/${spec.repo}/_manifests/tags`;
    case 'tagCurrentLink':
      return `${REPOSITORIES}/${spec.repo}/_manifests/tags/${spec.tag}/current/link`;
    case 'tagIndexLink':
      return `${REPOSITORIES}/${spec.repo}/_manifests/tags/${spec.tag}/index/${linkTail(spec.digest)}`;
    case 'upload':
      return `${REPOSITORIES}/${spec.repo}/_uploads/${spec.id}`;
    case 'uploadStartedAt':
      return `${REPOSITORIES}/${spec.repo}/_uploads/${spec.id}/startedat`;
    case 'uploadData':
      return `${REPOSITORIES}/${spec.repo}/_uploads/${spec.id}/data`;
    default: {
      const never: never = spec;
      throw new Error(`unknown path spec ${JSON.stringify(never)}`);
    }
  }
}

function linkTail(d: Digest): string {
  const { alg, hex } = splitDigest(d);
  return `${alg}/${hex}/link`;
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
