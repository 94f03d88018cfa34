import { catalogEntries, gcBadLinks, gcManifests, gcRepositories, gcSets, type GcSets } from '../index/gc.js';
import { guardIndex } from '../index/open.js';
import { debris } from '../index/queries.js';
import {
  GC_SCENARIOS,
  gcIssues,
  gcOutcome,
  type GcIssue,
  type GcOutcome,
  type GcScenario,
  type GcScenarioId,
} from '../gc/scenarios.js';
import { catalogOrder } from '../layout/catalog.js';
import type { Format } from '../report/format.js';
import { renderGcPreview } from '../report/gc.js';
import { openSession, type SessionOptions } from './session.js';

export interface GcPreviewOptions extends SessionOptions {
  format: Format;
  scenarios?: GcScenarioId[];
}

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

/** What each garbage-collect variant would delete, remove and break on the scanned storage. */
export async function runGcPreview(opts: GcPreviewOptions): Promise<{ output: string; predictions: GcPrediction[] }> {
  const s = await openSession(opts);
  try {
    const predictions = guardIndex(opts.dbFile, () => {
      const issueInput = {
        repositories: gcRepositories(s.db, s.scan.id),
        badLinks: gcBadLinks(s.db, s.scan.id),
        manifests: gcManifests(s.db, s.scan.id),
        debris: debris(s.db, s.scan.id),
      };
      // 3.x removes layer links in catalog order: a link survives if its repository or an earlier one marked the blob.
      const positions = new Map(catalogOrder(catalogEntries(s.db, s.scan.id), 3).map((name, i) => [name, i]));
      const wanted = GC_SCENARIOS.filter((x) => !opts.scenarios?.length || opts.scenarios.includes(x.id));
      const sets = gcSets(s.db, s.scan.id, wanted, positions);
      return wanted.map((scenario, i) => predict(scenario, gcIssues(issueInput, scenario), sets[i]!));
    });
    const scannedAt = new Date(s.scan.finishedMs ?? s.scan.startedMs).toISOString();
    return { output: renderGcPreview({ root: s.scan.root, scannedAt, predictions }, opts.format), predictions };
  } finally {
    s.db.close();
  }
}
