/** What gc-preview predicts for one garbage-collect scenario: the model's output, which the index computes and reports render. */
import { gcOutcome, type GcIssue, type GcOutcome, type GcScenario } from './scenarios.js';
import type { GcList, GcSets } from '../index/gc-rows.js';

export type { GcBlob, GcBrokenTag, GcLayerLink, GcList, GcManifest, GcSets } from '../index/gc-rows.js';

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
      blobs: sets.blobs.count,
      bytes: sets.blobs.bytes,
      manifests: sets.manifests.count,
      layerLinks: sets.layerLinks.count,
    },
    blobs: new HeldList([]),
    manifests: new HeldList([]),
    layerLinks: new HeldList([]),
    // An aborted run breaks nothing; an uncertain one may still break these tags.
    brokenTags: outcome === 'aborts' ? [] : sets.brokenTags,
  };
}

/** A list held in memory (filtered, emptied, or read whole before the index closes). */
export class HeldList<T extends { size: number }> implements GcList<T> {
  readonly count: number;
  readonly bytes: number;

  constructor(readonly items: readonly T[]) {
    this.count = items.length;
    this.bytes = items.reduce((n, x) => n + x.size, 0);
  }

  [Symbol.iterator](): Iterator<T> {
    return this.items[Symbol.iterator]();
  }
}

/** The items of `list` that `keep` accepts, counted in one pass over it (a list of the index is read, not held). */
export function filterList<T extends { size: number }>(list: GcList<T>, keep: (x: T) => boolean): GcList<T> {
  let count = 0;
  let bytes = 0;
  for (const x of list)
    if (keep(x)) {
      count++;
      bytes += x.size;
    }
  return {
    count,
    bytes,
    *[Symbol.iterator]() {
      for (const x of list) if (keep(x)) yield x;
    },
  };
}

/** The prediction with its lists read into memory: usable after the index it was computed from is closed. */
export function heldPrediction(p: GcPrediction): GcPrediction {
  return {
    ...p,
    blobs: new HeldList([...p.blobs]),
    manifests: new HeldList([...p.manifests]),
    layerLinks: new HeldList([...p.layerLinks]),
  };
}
