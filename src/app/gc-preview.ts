import { catalogEntries, gcBadLinks, gcManifests, gcRepositories, gcSets } from '../index/gc.js';
import { filterList, heldPrediction, predict, type GcPrediction } from '../gc/prediction.js';
import { debris } from '../index/queries.js';
import { GC_SCENARIOS, gcIssues, type GcScenarioId } from '../gc/scenarios.js';
import { catalogOrder } from '../layout/catalog.js';
import type { Format } from '../report/format.js';
import { renderGcPreviewChunks } from '../report/gc.js';
import { repositoryFilterOf, repositorySelected, type Selection } from '../audit/select.js';
import { withSession, type SessionOptions } from './session.js';

export interface GcPreviewOptions extends SessionOptions {
  format: Format;
  scenarios?: GcScenarioId[];
  /**
   * --repository, --exclude: which repositories' manifests, layer links, broken tags and issues are
   * listed. The prediction itself (outcome, blobs) stays the whole storage's: garbage-collect runs over all of it.
   */
  selection?: Selection;
  /**
   * Where the output goes, a piece at a time, while the index is open (`output` is then empty and
   * the predictions' lists, read from the index, can no longer be read): the lists are never held.
   * Without it the lists are read into memory before the index closes.
   */
  write?: (chunk: string) => void;
}

/** What each garbage-collect variant would delete, remove and break on the scanned storage. */
export async function runGcPreview(
  opts: GcPreviewOptions,
): Promise<{ output: Iterable<string>; predictions: GcPrediction[] }> {
  return withSession(opts, (s) => {
    const predictions = s.guard(() => {
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
    const sel = opts.selection ?? {};
    const filter = repositoryFilterOf(sel);
    const shown = s.guard(() => (filter ? predictions.map((p) => listedFor(p, sel)) : predictions));
    const scannedAt = new Date(s.scan.finishedMs ?? s.scan.startedMs).toISOString();
    const view = (ps: GcPrediction[]): Iterable<string> =>
      renderGcPreviewChunks({ root: s.scan.root, scannedAt, filter, predictions: ps }, opts.format);
    if (opts.write) {
      s.guard(() => {
        for (const chunk of view(shown)) opts.write!(chunk);
      });
      return { output: [], predictions: shown };
    }
    const held = s.guard(() => shown.map(heldPrediction));
    return { output: view(held), predictions: held };
  });
}

/** The items of matching repositories; issues about no repository (they can stop the whole run) stay. */
function listedFor(p: GcPrediction, sel: Selection): GcPrediction {
  const keep = (x: { repository: string | null }): boolean =>
    x.repository === null || repositorySelected(x.repository, sel);
  return {
    ...p,
    issues: p.issues.filter(keep),
    manifests: filterList(p.manifests, keep),
    layerLinks: filterList(p.layerLinks, keep),
    brokenTags: p.brokenTags.filter(keep),
  };
}
