/** What gc-preview predicts for one garbage-collect scenario: the model's output, which the index computes and reports render. */
import { gcOutcome, type GcIssue, type GcOutcome, type GcScenario } from './scenarios.js';
import type { GcSets } from '../index/gc-rows.js';

export type { GcBlob, GcBrokenTag, GcLayerLink, GcManifest, GcSets } from '../index/gc-rows.js';

export interface GcPrediction extends GcSets {
  scenario: GcScenario;
  issues: GcIssue[];
  outcome: GcOutcome;
  /**
   * What the model would delete when the outcome is not `runs`; then the lists above are empty:
   * an aborted run deletes nothing, and on an uncertain one nothing can be called safe.
   */
  withheld: { blobs: number; bytes: number; manifests: number; layerLinks: number } | null;
}

/** Only a run that is predicted to complete on fully read storage lists what it deletes. */
export function predict(scenario: GcScenario, issues: GcIssue[], sets: GcSets): GcPrediction {
  const outcome = gcOutcome(issues);
  if (outcome === 'runs') return { scenario, issues, outcome, withheld: null, ...sets };
  return {
    scenario,
    issues,
    outcome,
    withheld: {
      blobs: sets.blobs.length,
      bytes: sets.blobs.reduce((n, b) => n + b.size, 0),
      manifests: sets.manifests.length,
      layerLinks: sets.layerLinks.length,
    },
    blobs: [],
    manifests: [],
    layerLinks: [],
    // An aborted run breaks nothing; an uncertain one may still break these tags.
    brokenTags: outcome === 'aborts' ? [] : sets.brokenTags,
  };
}
