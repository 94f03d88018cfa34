/**
 * The records the index accepts from a scan: the scanner produces them, the index writer
 * (index/writes.ts) consumes them, and this module, owned by the index, defines them.
 */
import type { Digest } from '../layout/digest.js';
import type { ManifestRef } from '../layout/manifest.js';

export type LinkKind = 'layer' | 'revision' | 'tag-current' | 'tag-index';
export type LinkProblem = 'empty' | 'invalid' | 'too-large' | 'unreadable' | 'not-a-file';

export interface LinkRecord {
  kind: LinkKind;
  tag: string | null;
  pathDigest: Digest | null;
  digest: Digest | null;
  problem: LinkProblem | null;
  raw: string | null;
  size: number;
  mtimeMs: number;
}

export interface UploadRecord {
  id: string;
  startedAt: string | null;
  startedMs: number | null;
  size: number;
  mtimeMs: number;
}

export interface DebrisRecord {
  /** Relative to docker/registry/v2. */
  path: string;
  kind: DebrisKind;
  detail: string | null;
}

export type DebrisKind =
  | 'tmp-file'
  | 'unknown-directory'
  | 'stray-file'
  | 'symlink'
  | 'unreadable'
  | 'unrecognized'
  | 'empty-directory'
  | 'legacy-signatures'
  | 'pending-deletion';

/** Everything read from one repository's _layers, _manifests and _uploads. */
export interface RepositorySnapshot {
  name: string;
  hasLayers: boolean;
  hasManifests: boolean;
  hasUploads: boolean;
  /** `_manifests/tags` is a directory (garbage collection with --delete-untagged depends on it). */
  hasTagsDir: boolean;
  newestMtimeMs: number;
  /** Files and directories inside the parts (the parts themselves included). */
  entries: number;
  /** Set when a part could not be read or is not a plain directory: the state is then unknown. */
  problem: string | null;
  tags: string[];
  /** Hash of every entry stat'ed, and the paths the rows do not imply (scan/stamp.ts). */
  stamp: string;
  extra: string[];
  links: LinkRecord[];
  uploads: UploadRecord[];
  debris: DebrisRecord[];
}

/** A repository's snapshot before anything of it was read. */
export function emptySnapshot(name: string): RepositorySnapshot {
  return {
    name,
    hasLayers: false,
    hasManifests: false,
    hasUploads: false,
    hasTagsDir: false,
    newestMtimeMs: 0,
    entries: 0,
    problem: null,
    tags: [],
    stamp: '',
    extra: [],
    links: [],
    uploads: [],
    debris: [],
  };
}

export interface BlobRecord {
  digest: Digest;
  size: number;
  mtimeMs: number;
}

export interface ManifestRecord {
  digest: Digest;
  mediaType: string | null;
  schemaVersion: number | null;
  size: number;
  problem: string | null;
  refs: ManifestRef[];
}

/** The stamp of one blobs/<alg>/<xx> directory (scan/stamp.ts). */
export interface BlobFanRecord {
  alg: string;
  fan: string;
  stamp: string;
  extra: string[];
}

/** Where the walk puts what it finds (the index writer, or a test's arrays). */
export interface ScanSink {
  repository(snap: RepositorySnapshot): void;
  blob(b: BlobRecord): void;
  blobFan(f: BlobFanRecord): void;
  manifest(m: ManifestRecord): void;
  debris(d: DebrisRecord): void;
  /** Makes everything received so far visible (the index writer batches rows); runners call it when a drain ends. */
  flush?(): void;
}
