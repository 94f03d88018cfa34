/** What a prune journal records, shared by the index (prune_runs/prune_actions) and a batch's journal.json. */
import type { AppliedCleanup, AppliedRepository } from './outcome.js';
import type { PrunePlan } from './plan.js';

export interface JournalAction {
  /** Repository name, or a path relative to docker/registry/v2 for a cleanup. */
  target: string;
  kind: 'repository' | 'cleanup';
  /** What the plan said: delete, skip, remove. */
  action: string;
  reason?: string;
  detail?: string;
}

export interface JournalOutcome extends JournalAction {
  /** deleted, quarantined, skipped, removed, kept */
  outcome: string;
  outcomeDetail?: string;
  at: string;
}

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
