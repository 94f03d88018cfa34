/** What a prune journal records, shared by the index (prune_runs/prune_actions) and a batch's journal.json. */
import type { AppliedCleanup, AppliedRepository } from './outcome.js';
import type { JournalAction, JournalOutcome } from '../index/journal.js';
import type { PrunePlan } from './plan.js';

// The index owns the journal's record types; prune builds them.
export type { JournalAction, JournalOutcome };

export function plannedActions(plan: PrunePlan): JournalAction[] {
  return [
    ...plan.repositories.map((r) => ({
      target: r.name,
      kind: 'repository' as const,
      action: r.action,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.detail ? { detail: r.detail } : {}),
    })),
    ...plan.cleanup.map((c) => ({ target: c.path, kind: 'cleanup' as const, action: c.action, reason: c.reason })),
  ];
}

export function repositoryOutcome(r: AppliedRepository, ms: number): JournalOutcome {
  const base: JournalAction = { target: r.name, kind: 'repository', action: 'delete' };
  if (r.deleted) return { ...base, outcome: r.quarantined ? 'quarantined' : 'deleted', at: new Date(ms).toISOString() };
  return {
    ...base,
    outcome: 'skipped',
    outcomeDetail: `${r.reason ?? ''}: ${r.detail ?? ''}`,
    at: new Date(ms).toISOString(),
  };
}

export function cleanupOutcome(c: AppliedCleanup, quarantined: boolean, ms: number): JournalOutcome {
  const base: JournalAction = { target: c.path, kind: 'cleanup', action: c.action, reason: c.reason };
  const moved = quarantined && c.reason === 'pending-deletion';
  return {
    ...base,
    outcome: c.done ? (moved ? 'quarantined' : 'removed') : 'kept',
    ...(c.detail ? { outcomeDetail: c.detail } : {}),
    at: new Date(ms).toISOString(),
  };
}
