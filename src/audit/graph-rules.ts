/**
 * Manifest-graph rules, pure: rows from src/index/graph.ts in, findings out.
 * A repository "holds" its revisions' manifests and everything they reference; these rules say
 * what a pull would miss, what only garbage keeps, and what could not be read.
 */
import type {
  NeededRefRow,
  UnreadableManifestRow,
  UnreferencedBlobRow,
  UnreferencedLayerLinkRow,
  UntaggedManifestRow,
} from '../index/graph.js';
import type { Finding } from './findings.js';

export interface GraphInput {
  untagged: UntaggedManifestRow[];
  missing: NeededRefRow[];
  unlinked: NeededRefRow[];
  unreferencedLayerLinks: UnreferencedLayerLinkRow[];
  unreferencedBlobs: UnreferencedBlobRow[];
  unreadable: UnreadableManifestRow[];
}

const short = (d: string): string => (d.length > 19 ? `${d.slice(0, 19)}…` : d);
const list = (csv: string | null): string[] => (csv ? [...new Set(csv.split(/,\s*/))].filter(Boolean).sort() : []);

/** "needed by 2 manifests (sha256:ab…, sha256:cd…; tags latest, v1)" */
function neededBy(r: NeededRefRow): string {
  const manifests = list(r.manifests);
  const tags = list(r.tags);
  const names = manifests.slice(0, 3).map(short).join(', ') + (manifests.length > 3 ? ', …' : '');
  return `needed by ${manifests.length} manifest${manifests.length === 1 ? '' : 's'} (${names}${tags.length ? `; tag${tags.length === 1 ? '' : 's'} ${tags.join(', ')}` : ''})`;
}

/** The first tag that needs it, for the finding's tag column. */
function firstTag(r: { tags: string | null }): { tag?: string } {
  const t = list(r.tags)[0];
  return t === undefined ? {} : { tag: t };
}

const withBytes = (n: number | null | undefined): { bytes?: number } => (typeof n === 'number' ? { bytes: n } : {});

export function untaggedManifestFindings(rows: UntaggedManifestRow[]): Finding[] {
  return rows.map((r) => ({
    kind: 'untagged-manifest',
    severity: 'info' as const,
    repository: r.repository,
    digest: r.digest,
    bytes: r.size,
    message: r.subject
      ? `OCI referrer of ${r.subject} (signature, SBOM, …) with no tag: the subject is not a garbage-collection reference, so --delete-untagged deletes it`
      : 'no tag names it and no tagged index/list of this repository lists it: pullable by digest only; garbage-collect --delete-untagged deletes it',
  }));
}

export function missingBlobFindings(rows: NeededRefRow[]): Finding[] {
  return rows.map((r) => {
    const platforms = list(r.platforms);
    const what =
      r.role === 'child'
        ? `index/list child${platforms.length ? ` (${platforms.join(', ')})` : ''} ${r.blobPresent ? 'has no revision link in this repository' : 'is not in blobs/'}: pulling that platform fails with MANIFEST_UNKNOWN${r.blobPresent ? ' (legal only for a sparse index on 3.x)' : ''}`
        : 'config or layer is not in blobs/: the image cannot be pulled';
    return {
      kind: 'missing-blob',
      severity: 'error' as const,
      repository: r.repository,
      ...firstTag(r),
      digest: r.digest,
      ...withBytes(r.size),
      message: `${what}; ${neededBy(r)}`,
    };
  });
}

export function missingLayerLinkFindings(rows: NeededRefRow[]): Finding[] {
  return rows.map((r) => ({
    kind: 'missing-layer-link',
    severity: 'error' as const,
    repository: r.repository,
    ...firstTag(r),
    digest: r.digest,
    ...withBytes(r.size),
    message: `blob exists but the repository has no _layers link for it: the registry answers BLOB_UNKNOWN; ${neededBy(r)}`,
  }));
}

export function unreferencedLayerLinkFindings(rows: UnreferencedLayerLinkRow[]): Finding[] {
  return rows.map((r) => ({
    kind: 'unreferenced-layer-link',
    severity: 'info' as const,
    repository: r.repository,
    digest: r.pathDigest,
    bytes: r.size,
    message:
      `_layers link to ${r.pathDigest === r.digest ? 'a blob' : r.digest} that no manifest of this repository references ` +
      '(an image deleted through the API, a mount, or a push whose manifest has not arrived yet): 3.x garbage-collect removes it, 2.x keeps it' +
      (r.uncertain ? '; this repository has manifests regaudit could not read, which may reference it' : ''),
  }));
}

export function unreferencedBlobFindings(rows: UnreferencedBlobRow[]): Finding[] {
  return rows.map((r) => ({
    kind: 'unreferenced-blob',
    severity: 'info' as const,
    repository: null,
    digest: r.digest,
    bytes: r.size,
    message:
      'no manifest of any repository references it: garbage-collect deletes it' +
      (r.linkedBy > 0
        ? `; still linked from the _layers of ${r.linkedBy} repositor${r.linkedBy === 1 ? 'y' : 'ies'} (a push in progress looks the same: collect only on a stopped or read-only registry)`
        : ''),
  }));
}

const UNREADABLE: Readonly<Record<string, string>> = {
  'too-large': 'is over the 4 MiB the registry accepts for a manifest: not read, so what it references is unknown',
  'not-json': 'is not JSON: pulling it fails, and garbage-collect aborts when it marks it',
  'unknown-schema':
    'is JSON but neither schema1, an image manifest nor an index/list: garbage-collect aborts when it marks it',
  unreadable: 'cannot be read: pulling it fails, and garbage-collect aborts when it marks it',
};

export function unreadableManifestFindings(rows: UnreadableManifestRow[]): Finding[] {
  return rows.map((r) => ({
    kind: 'unreadable-manifest',
    severity: 'error' as const,
    repository: r.repository,
    ...firstTag(r),
    digest: r.digest,
    bytes: r.size,
    message: `manifest blob (${r.size} bytes) ${UNREADABLE[r.problem] ?? r.problem}`,
  }));
}

/** Every manifest-graph finding (unsorted). */
export function graphFindings(input: GraphInput): Finding[] {
  return [
    ...untaggedManifestFindings(input.untagged),
    ...missingBlobFindings(input.missing),
    ...missingLayerLinkFindings(input.unlinked),
    ...unreferencedLayerLinkFindings(input.unreferencedLayerLinks),
    ...unreferencedBlobFindings(input.unreferencedBlobs),
    ...unreadableManifestFindings(input.unreadable),
  ];
}
