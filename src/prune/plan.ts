/**
 * Prune planning, pure: which empty repositories to delete and which to leave, with the reason.
 * Deleting a repository means removing exactly its _layers, _manifests and _uploads, then the
 * directories left empty above it; nested repositories live beside those parts and are never touched.
 */
import type { DebrisRow } from '../index/queries.js';
import type { RepositoryReport } from '../audit/rules.js';

/** Why the plan leaves a repository, from the scan alone. */
export type PlanSkipReason = 'recent-activity' | 'upload-in-progress' | 'unreadable';

export interface PlannedRepository {
  name: string;
  action: 'delete' | 'skip';
  reason?: PlanSkipReason;
  detail?: string;
  state: string;
  layerLinks: number;
  uploads: number;
  listedByV2: boolean;
  listedByV3: boolean;
  /** The scan's view, which the repository must still match just before deletion. */
  expect: { entries: number; newestMtimeMs: number };
}

export interface PlannedCleanup {
  /** Relative to docker/registry/v2. */
  path: string;
  action: 'remove' | 'skip';
  reason: 'pending-deletion' | 'empty-directory' | 'recent-activity';
}

export interface PrunePlan {
  repositories: PlannedRepository[];
  cleanup: PlannedCleanup[];
}

export interface PlanOptions {
  now: number;
  /** Anything newer than this leaves the repository alone: a push in progress looks exactly empty. */
  minAgeMs: number;
  /** Uploads younger than this are in progress. */
  uploadAgeMs: number;
}

export function planPrune(
  repos: readonly RepositoryReport[],
  debris: readonly DebrisRow[],
  opts: PlanOptions,
): PrunePlan {
  const repositories: PlannedRepository[] = [];
  for (const r of repos) {
    if (r.state !== 'empty') continue;
    const entry: PlannedRepository = {
      name: r.name,
      action: 'delete',
      state: r.state,
      layerLinks: r.layerLinks,
      uploads: r.uploads,
      listedByV2: r.listedByV2,
      listedByV3: r.listedByV3,
      expect: { entries: r.entries, newestMtimeMs: r.newestMtimeMs },
    };
    const skip = (reason: PlanSkipReason, detail: string): void => {
      entry.action = 'skip';
      entry.reason = reason;
      entry.detail = detail;
    };
    if (r.problem !== null) skip('unreadable', r.problem);
    else if (r.uploads > 0 && opts.now - r.newestUploadMs < opts.uploadAgeMs)
      skip('upload-in-progress', `${r.uploads} upload(s), newest activity ${iso(r.newestUploadMs)}`);
    else if (opts.now - r.newestMtimeMs < opts.minAgeMs)
      skip('recent-activity', `newest entry ${iso(r.newestMtimeMs)}`);
    repositories.push(entry);
  }
  const cleanup: PlannedCleanup[] = debris
    .filter((d) => d.kind === 'pending-deletion' || d.kind === 'empty-directory')
    .map((d) => ({ path: d.path, action: 'remove' as const, reason: d.kind as PlannedCleanup['reason'] }));
  repositories.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  cleanup.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { repositories, cleanup };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Deepest first, so a parent emptied by deleting its children can be removed after them. */
export function applyOrder(names: readonly string[]): string[] {
  return [...names].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
}
