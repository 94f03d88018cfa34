/**
 * What applying a plan did, repository by repository: the records apply produces and the journal,
 * the quarantine batch and the reports consume (apart from apply, so none of them imports it).
 */
import type { PlanSkipReason, PlannedCleanup, PlannedRepository } from './plan.js';

/** Why apply left a repository the plan would delete: only known when it is about to act. */
export type ApplySkipReason =
  /** The re-read just before acting differs from the scan, or a path on the way is no plain directory. */
  | 'changed-since-scan'
  /** The filesystem refused a rename or removal (EACCES/EPERM). */
  | 'permission-denied'
  /** The quarantine batch already holds a different copy of a part. */
  | 'quarantine-conflict';

export interface AppliedRepository extends Omit<PlannedRepository, 'reason'> {
  /** The plan's reason, or one only apply can give. */
  reason?: PlanSkipReason | ApplySkipReason;
  /** True when its parts left storage in this run (deleted, or moved into the quarantine). */
  deleted: boolean;
  /** Where the parts went, with --quarantine. */
  quarantined?: string;
}

export interface AppliedCleanup extends PlannedCleanup {
  done: boolean;
  detail?: string;
}

export interface ApplyResult {
  repositories: AppliedRepository[];
  cleanup: AppliedCleanup[];
}
