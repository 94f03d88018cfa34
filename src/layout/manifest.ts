/**
 * What a manifest blob references, for every format a 2.x/3.x registry stores:
 * Docker schema2 and OCI image manifests (config + layers), Docker manifest lists and OCI indexes
 * (children, which live in the same repository), schema1 (fsLayers[].blobSum), and the OCI
 * `subject` (recorded, but not a GC reference).
 */
import { parseDigest, type Digest } from './digest.js';

export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

/** Media types of the manifests, configs and layers a 2.x/3.x registry stores. */
export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/**
 * Media types the manifest store of both registry versions unmarshals for schemaVersion 2 (plus ""
 * or absent); it refuses any other (src/gc/scenarios.ts: what garbage-collect does then).
 */
export const GC_MEDIA_TYPES: readonly string[] = [
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
];

export type RefRole = 'config' | 'layer' | 'child' | 'subject' | 'blobsum';

export interface ManifestRef {
  digest: Digest;
  role: RefRole;
  mediaType: string | null;
  size: number | null;
  /** Non-distributable ("foreign") layer: has URLs, never pushed, so no local blob by design. */
  foreign: boolean;
  platform: string | null;
}

export type ParsedManifest =
  | { ok: true; mediaType: string | null; schemaVersion: number; refs: ManifestRef[] }
  | { ok: false; problem: 'not-json' | 'unknown-schema'; detail: string };

const FOREIGN_TYPES = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function descriptor(v: unknown, role: RefRole): ManifestRef | null {
  if (!isObj(v) || typeof v.digest !== 'string') return null;
  const digest = parseDigest(v.digest);
  if (!digest) return null;
  const mediaType = typeof v.mediaType === 'string' ? v.mediaType : null;
  const urls = Array.isArray(v.urls) && v.urls.length > 0;
  let platform: string | null = null;
  if (isObj(v.platform)) {
    const p = v.platform;
    platform = [p.os, p.architecture, p.variant].filter((x) => typeof x === 'string' && x !== '').join('/') || null;
  }
  return {
    digest,
    role,
    mediaType,
    size: typeof v.size === 'number' && Number.isFinite(v.size) ? v.size : null,
    foreign: role === 'layer' && (urls || (mediaType !== null && FOREIGN_TYPES.has(mediaType))),
    platform,
  };
}

/** Parses manifest bytes; malformed input is a result, never an exception. */
export function parseManifest(text: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: 'not-json', detail: err instanceof Error ? err.message : String(err) };
  }
  if (!isObj(doc)) return { ok: false, problem: 'not-json', detail: 'top level is not an object' };
  const schemaVersion = typeof doc.schemaVersion === 'number' ? doc.schemaVersion : NaN;
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : null;
  const refs: ManifestRef[] = [];
  const push = (r: ManifestRef | null): void => {
    if (r) refs.push(r);
  };
  if (schemaVersion === 1) {
    if (!Array.isArray(doc.fsLayers))
      return { ok: false, problem: 'unknown-schema', detail: 'schema1 without fsLayers' };
    for (const l of doc.fsLayers) {
      if (isObj(l) && typeof l.blobSum === 'string') push(descriptor({ digest: l.blobSum }, 'blobsum'));
    }
    return { ok: true, mediaType, schemaVersion, refs };
  }
  if (schemaVersion !== 2)
    return { ok: false, problem: 'unknown-schema', detail: `schemaVersion ${String(doc.schemaVersion)}` };
  if (Array.isArray(doc.manifests)) {
    for (const m of doc.manifests) push(descriptor(m, 'child'));
  } else if (isObj(doc.config) || Array.isArray(doc.layers)) {
    push(descriptor(doc.config, 'config'));
    if (Array.isArray(doc.layers)) for (const l of doc.layers) push(descriptor(l, 'layer'));
  } else {
    return { ok: false, problem: 'unknown-schema', detail: 'neither config/layers nor manifests' };
  }
  push(descriptor(doc.subject, 'subject'));
  return { ok: true, mediaType, schemaVersion, refs };
}
