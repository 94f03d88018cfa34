/**
 * Carrying out a prune plan (prune/plan.ts, the same pure plan as on a filesystem) on a bucket.
 *
 * Per repository, deepest first: list its parts again and rebuild its snapshot the way the scan did
 * (changed-since-scan when anything differs: a key added or removed, a newer LastModified, a tag or
 * revision link), then DeleteObjects exactly the listed keys under `_manifests/` (the 3.x catalog
 * marker), then `_layers/` (the 2.x marker), then `_uploads/`. Nested repositories are other key
 * prefixes and are never listed here.
 *
 * A kill between requests leaves the repository as it was or with some of its keys gone; it was empty,
 * so nothing the registry serves changes, and the next prune (which scans again) deletes the rest.
 */
import { repositoryState } from '../audit/state.js';
import { REPOSITORY_PARTS, repositoryPath } from '../layout/paths.js';
import { countsFromSnapshot } from './apply.js';
import type { AppliedCleanup, AppliedRepository, ApplySkipReason, ApplyResult } from './outcome.js';
import { applyOrder, type PlannedRepository, type PrunePlan } from './plan.js';
import type { Bucket } from '../storage/s3/client.js';
import type { BucketBatch } from '../storage/s3/quarantine.js';
import { BucketReader, listRepository } from '../storage/s3/read.js';

export interface BucketApplyOptions {
  /** Copy each repository's keys into this batch (verified) before deleting them. */
  quarantine?: BucketBatch;
  onRepository?: (r: AppliedRepository) => void;
  onCleanup?: (c: AppliedCleanup) => void;
}

async function applyRepository(
  bucket: Bucket,
  entry: PlannedRepository,
  batch: BucketBatch | undefined,
): Promise<AppliedRepository> {
  const out: AppliedRepository = { ...entry, deleted: false };
  const skip = (reason: ApplySkipReason, detail: string): AppliedRepository => ({
    ...out,
    action: 'skip',
    reason,
    detail,
  });
  const keys = await listRepository(bucket, entry.name);
  if (keys.objects.length === 0) return skip('changed-since-scan', 'its keys are gone');
  const now = await new BucketReader(bucket).snapshot(keys);
  if (now.problem !== null) return skip('changed-since-scan', `re-read failed: ${now.problem}`);
  if (repositoryState({ liveTags: 0, ...countsFromSnapshot(now) }) !== 'empty')
    return skip('changed-since-scan', 'it has tags or revisions now');
  if (now.entries !== entry.expect.entries || now.newestMtimeMs !== entry.expect.newestMtimeMs)
    return skip('changed-since-scan', `its contents changed (entries ${entry.expect.entries} → ${now.entries})`);
  if (batch)
    await batch.take(
      bucket,
      keys.objects.map((k) => k.o),
    );
  for (const part of REPOSITORY_PARTS) {
    const doomed = keys.objects.filter((k) => k.part === part).map((k) => k.o.key);
    if (doomed.length > 0) await bucket.remove(doomed);
  }
  return { ...out, deleted: true, ...(batch ? { quarantined: `${batch.url}/${repositoryPath(entry.name)}` } : {}) };
}

/** Carries out `plan` on the bucket; a failed request throws (StorageError), after which a rerun resumes. */
export async function applyPlanToBucket(
  bucket: Bucket,
  plan: PrunePlan,
  opts: BucketApplyOptions = {},
): Promise<ApplyResult> {
  const byName = new Map(plan.repositories.map((r) => [r.name, r]));
  const results = new Map<string, AppliedRepository>();
  for (const name of applyOrder(plan.repositories.filter((r) => r.action === 'delete').map((r) => r.name))) {
    const res = await applyRepository(bucket, byName.get(name)!, opts.quarantine);
    results.set(name, res);
    opts.onRepository?.(res);
  }
  const cleanup: AppliedCleanup[] = [];
  for (const c of plan.cleanup) {
    if (c.action !== 'remove') continue;
    // Only a filesystem prune leaves `_regaudit_trash` (storage copied into a bucket): its keys go.
    const keys = (await bucket.listAll(bucket.key(`${c.path}/`))).map((o) => o.key);
    if (keys.length > 0) await bucket.remove(keys);
    const res: AppliedCleanup = { ...c, done: true };
    cleanup.push(res);
    opts.onCleanup?.(res);
  }
  return { repositories: plan.repositories.map((r) => results.get(r.name) ?? { ...r, deleted: false }), cleanup };
}
