/** What gc-preview predicts for one garbage-collect scenario: the model's output, which the index computes and reports render. */
import type { GcIssue, GcScenario } from './scenarios.js';

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

export interface GcSets {
  blobs: GcBlob[];
  manifests: GcManifest[];
  layerLinks: GcLayerLink[];
  brokenTags: GcBrokenTag[];
}

export interface GcPrediction extends GcSets {
  scenario: GcScenario;
  issues: GcIssue[];
}
