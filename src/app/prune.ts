import { loadAuditInput } from '../audit/load.js';
import { audit } from '../audit/rules.js';
import { debris } from '../index/queries.js';
import { applyPlan, type ApplyResult } from '../prune/apply.js';
import { crashInjectingFs, realFs } from '../prune/fsops.js';
import { acquirePruneLock } from '../prune/lock.js';
import { planPrune, type PrunePlan } from '../prune/plan.js';
import type { Format } from '../report/format.js';
import { renderPrune } from '../report/prune.js';
import { resolveStorageRoot } from '../scan/root.js';
import { openSession, type SessionOptions } from './session.js';

export interface PruneOptions extends SessionOptions {
  root: string;
  format: Format;
  apply: boolean;
  now: number;
  minAgeMs: number;
  uploadAgeMs: number;
}

export interface PruneOutcome {
  output: string;
  plan: PrunePlan;
  result?: ApplyResult;
}

/**
 * Scans, plans, and (with apply) deletes. The lock is taken before the scan so the plan and
 * its execution see the same storage as far as other prunes are concerned.
 */
export function runPrune(opts: PruneOptions): PruneOutcome {
  let release: (() => void) | undefined;
  if (opts.apply) {
    // Taken before the scan, so the lock covers the plan as well as its execution.
    release = acquirePruneLock(resolveStorageRoot(opts.root).v2);
  }
  try {
    const s = openSession(opts);
    try {
      const input = loadAuditInput(s.db, s.scan.id);
      const { repositories } = audit(input, { now: opts.now, uploadAgeMs: opts.uploadAgeMs });
      const plan = planPrune(repositories, debris(s.db, s.scan.id), { now: opts.now, minAgeMs: opts.minAgeMs, uploadAgeMs: opts.uploadAgeMs });
      let result: ApplyResult | undefined;
      if (opts.apply) {
        const crashAt = Number(process.env.REGAUDIT_CRASH_AT ?? '');
        const fs = Number.isInteger(crashAt) && crashAt > 0 ? crashInjectingFs(realFs, crashAt) : realFs;
        result = applyPlan(plan, { v2: s.scan.root, fs });
      }
      const output = renderPrune({ root: s.scan.root, applied: opts.apply, plan, ...(result ? { result } : {}) }, opts.format);
      return { output, plan, ...(result ? { result } : {}) };
    } finally {
      s.db.close();
    }
  } finally {
    release?.();
  }
}
