/**
 * The rows the index produces for gc-preview (src/index/gc.ts), owned here as src/index/records.ts
 * owns the scan records: the model of the registry's garbage-collect (src/gc/) reads them, the
 * index never imports the model.
 */

export type GcScenarioId = '2' | '2-m' | '3' | '3-m';

/** What the SQL of one garbage-collect scenario needs to know (src/gc/scenarios.ts defines the four). */
export interface GcMarkRule {
  id: GcScenarioId;
  version: 2 | 3;
  deleteUntagged: boolean;
  /** Catalog marker that makes a directory a repository for this version. */
  marker: 'has_layers' | 'has_manifests';
  /** held column a row must have set to be marked (null: every holding row is marked). */
  markFlag: 'tagged' | 'live' | null;
}

export interface GcRepositoryRow {
  name: string;
  nameProblem: string | null;
  hasLayers: boolean;
  hasManifests: boolean;
  /** null: scanned before the index recorded it (treated as present). */
  hasTagsDir: boolean | null;
  problem: string | null;
  /** Revision links whose manifest blob exists. */
  revisions: number;
  /** Of those, revisions no tag's current link names. */
  untagged: number;
}

export interface GcBadLinkRow {
  repository: string;
  kind: string;
  tag: string | null;
  pathDigest: string | null;
  problem: string;
}

export interface GcManifestRow {
  repository: string;
  digest: string;
  /** Read problem (too-large, not-json, unknown-schema, unreadable) or null. */
  problem: string | null;
  mediaType: string | null;
  schemaVersion: number | null;
  current: boolean;
  tagged: boolean;
  live: boolean;
}

export interface GcDebrisRow {
  path: string;
  kind: string;
}

export interface GcBlob {
  digest: string;
  size: number;
}

export interface GcManifest {
  repository: string;
  digest: string;
  size: number;
}

export interface GcLayerLink {
  repository: string;
  digest: string;
  /** Size of the blob it links (removing the link frees nothing by itself). */
  size: number;
}

export interface GcBrokenTag {
  repository: string;
  tag: string;
  digest: string;
  /** Manifests of the tag's closure whose revision is deleted (untagged index children on 2.x). */
  deletedManifests: string[];
  /** Blobs of the closure that are swept. */
  sweptBlobs: number;
  /** Bytes of the closure lost: swept blobs. */
  bytes: number;
}

/**
 * A list of a scenario, with its count and bytes known before its items are read: on a large store
 * the lists run to hundreds of thousands of rows, which the index gives each time they are read
 * (index/gc.ts) instead of memory holding them.
 */
export interface GcList<T> extends Iterable<T> {
  readonly count: number;
  /** Sum of the items' sizes. */
  readonly bytes: number;
}

export interface GcSets {
  blobs: GcList<GcBlob>;
  manifests: GcList<GcManifest>;
  layerLinks: GcList<GcLayerLink>;
  brokenTags: GcBrokenTag[];
}
