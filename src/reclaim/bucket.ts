/**
 * Carrying out a gc plan (reclaim/plan.ts, the same pure plan as on a filesystem) on a bucket.
 *
 * Before anything changes, every repository's keys are listed again and rebuilt into snapshots the
 * way the scan built them; a repository that changed (a key added or removed, a newer
 * LastModified), appeared or vanished since the scan stops the whole run, nothing deleted. Then the
 * plan's keys go in the filesystem apply's order, one kind at a time with DeleteObjects (1,000 keys
 * a request): untagged manifests' revision links, layer links, stale uploads, empty repositories
 * (`_manifests/`, then `_layers/`, then `_uploads/`), and last the blobs, after a second listing of
 * every repository: a blob some link names now (a new `_layers` or revision link, a tag) stays.
 * Each item is checked against the listing just before its kind goes (the keys it had, with the
 * LastModified and size the scan saw).
 *
 * A kill between requests leaves some kinds done and at most one partly done; every reference
 * goes before what it references, so the registry still serves every live image, and the next gc
 * (which scans again) plans and deletes the rest.
 */
import { repositoryState } from '../audit/state.js';
import { StorageError } from '../errors.js';
import { repositoryKey } from '../layout/object-keys.js';
import { REPOSITORIES } from '../layout/paths.js';
import type { RepositorySnapshot } from '../index/records.js';
import { countsFromSnapshot } from '../prune/apply.js';
import type { Bucket, ListedObject } from '../storage/s3/client.js';
import type { BucketBatch } from '../storage/s3/quarantine.js';
import { BucketReader, type RepositoryKeys } from '../storage/s3/read.js';
import type { GcApplyResult, GcItemResult, ScannedRepository } from './apply.js';
import { GC_ITEM_ORDER, REPOSITORY_PART_ORDER, type GcItem, type GcPlan } from './plan.js';

export interface BucketGcOptions {
  /** The repositories the scan saw, with what the listing must find again. */
  scanned: readonly ScannedRepository[];
  /** Copy each kind's keys into this batch (verified) before deleting them. */
  batch?: BucketBatch;
  onItem?: (r: GcItemResult) => void;
}

/** Every repository's keys, listed now: one flat listing per top-level name, concurrently. */
async function listRepositories(bucket: Bucket): Promise<Map<string, RepositoryKeys>> {
  const base = bucket.location.v2Prefix;
  const repos = new Map<string, RepositoryKeys>();
  const tops = await bucket.listDirs(`${base}${REPOSITORIES}/`);
  const listed = await Promise.all(tops.map((t) => bucket.listAll(t)));
  for (const o of listed.flat()) {
    const k = repositoryKey(o.key.slice(base.length));
    if (k?.kind !== 'part') continue;
    let r = repos.get(k.repo);
    if (!r) repos.set(k.repo, (r = { name: k.repo, objects: [] }));
    r.objects.push({ rest: k.rest, part: k.part, o });
  }
  return repos;
}

/** Snapshots of every repository, built as the scan builds them (links the listing cannot vouch for are read). */
async function snapshots(bucket: Bucket, repos: ReadonlyMap<string, RepositoryKeys>): Promise<RepositorySnapshot[]> {
  const reader = new BucketReader(bucket);
  return Promise.all([...repos.values()].map((k) => reader.snapshot(k)));
}

/** The first way the bucket's repositories differ from the scan, or null. */
export function differenceFromScan(
  scanned: readonly ScannedRepository[],
  now: readonly RepositorySnapshot[],
): string | null {
  const byName = new Map(scanned.map((r) => [r.name, r]));
  const present = new Map(now.map((s) => [s.name, s]));
  for (const s of [...now].sort((a, b) => (a.name < b.name ? -1 : 1)))
    if (!byName.has(s.name)) return `repository ${s.name} appeared`;
  for (const r of scanned) {
    const s = present.get(r.name);
    if (!s) return `repository ${r.name} is gone`;
    if (s.problem !== null) return `repository ${r.name}: ${s.problem}`;
    if (s.entries !== r.entries || s.newestMtimeMs !== r.newestMtimeMs)
      return `repository ${r.name} changed (entries ${r.entries} → ${s.entries}, newest ${r.newestMtimeMs} → ${s.newestMtimeMs})`;
  }
  return null;
}

/** Every digest a link of some repository names now (a tag's index entries are history, not references). */
function namedDigests(now: readonly RepositorySnapshot[]): Set<string> {
  const named = new Set<string>();
  for (const s of now) {
    if (s.problem !== null) throw new StorageError(`refusing to delete blobs: repository ${s.name}: ${s.problem}`);
    for (const l of s.links) {
      if (l.kind === 'tag-index') continue;
      if (l.problem !== null)
        throw new StorageError(`refusing to delete blobs: repository ${s.name}: a ${l.kind} link is ${l.problem}`);
      if (l.digest !== null) named.add(l.digest);
      if (l.pathDigest !== null) named.add(l.pathDigest);
    }
  }
  return named;
}

/** The keys of each planned item (under its directory, or a repository's parts), from a listing. */
function keysOfItems(
  items: readonly GcItem[],
  repos: ReadonlyMap<string, RepositoryKeys>,
  blobs: readonly ListedObject[],
  v2Prefix: string,
): Map<GcItem, ListedObject[]> {
  const byPath = new Map(items.map((i) => [i.path, i]));
  const out = new Map<GcItem, ListedObject[]>(items.map((i) => [i, []]));
  const add = (o: ListedObject): void => {
    const rel = o.key.slice(v2Prefix.length);
    // The item is the nearest enclosing directory the plan names.
    for (let at = rel.lastIndexOf('/'); at > 0; at = rel.lastIndexOf('/', at - 1)) {
      const item = byPath.get(rel.slice(0, at));
      if (item && item.kind !== 'repository') return void out.get(item)!.push(o);
    }
  };
  for (const r of repos.values()) {
    const whole = byPath.get(`${REPOSITORIES}/${r.name}`);
    for (const { o } of r.objects) {
      if (whole?.kind === 'repository') out.get(whole)!.push(o);
      else add(o);
    }
  }
  for (const o of blobs) add(o);
  return out;
}

/** Why the item must stay, given its keys as listed now; null when it may go. */
function recheck(
  item: GcItem,
  keys: readonly ListedObject[],
  v2Prefix: string,
  repos: ReadonlyMap<string, RepositoryKeys>,
  snaps: ReadonlyMap<string, RepositorySnapshot>,
  named: ReadonlySet<string> | null,
): string | null {
  if (keys.length === 0) return 'gone';
  const newest = keys.reduce((n, k) => Math.max(n, k.lastModifiedMs), 0);
  const file = (name: string): ListedObject | undefined =>
    keys.find((k) => k.key === `${v2Prefix}${item.path}/${name}`);
  switch (item.kind) {
    case 'manifest':
    case 'layer-link': {
      const link = file('link');
      if (!link) return `${item.path}/link is gone`;
      return link.lastModifiedMs !== item.expect.mtimeMs ? `${item.path}/link was modified since the scan` : null;
    }
    case 'blob': {
      if (named?.has(item.digest!)) return 'a repository links it now';
      const data = file('data');
      if (!data) return `${item.path}/data is gone`;
      if (data.lastModifiedMs !== item.expect.mtimeMs) return `${item.path}/data was modified since the scan`;
      return data.size !== item.expect.size ? `${item.path}/data changed size since the scan` : null;
    }
    case 'upload':
      return newest !== item.expect.mtimeMs ? 'written to since the scan' : null;
    case 'repository': {
      const s = snaps.get(item.repository!);
      if (!s || !repos.has(item.repository!)) return 'gone';
      if (s.problem !== null) return `re-read failed: ${s.problem}`;
      if (repositoryState({ liveTags: 0, ...countsFromSnapshot(s) }) !== 'empty') return 'it has tags or revisions now';
      if (s.entries !== item.expect.entries || s.newestMtimeMs !== item.expect.mtimeMs) return 'its contents changed';
      return null;
    }
  }
}

/** The keys of a repository item in prune's order: the 3.x catalog marker, the 2.x marker, uploads. */
function inPartOrder(keys: readonly ListedObject[], v2Prefix: string, item: GcItem): ListedObject[][] {
  return REPOSITORY_PART_ORDER.map((part) => keys.filter((k) => k.key.startsWith(`${v2Prefix}${item.path}/${part}/`)));
}

/** Carries out the plan on the bucket. Throws StorageError when it changed since the scan (nothing removed) or a request fails (a rerun finishes). */
export async function applyGcToBucket(bucket: Bucket, plan: GcPlan, o: BucketGcOptions): Promise<GcApplyResult> {
  if (plan.blocked.length > 0) {
    const b = plan.blocked[0]!;
    throw new StorageError(
      `refusing to collect: part of the storage could not be read (${b.where}: ${b.why}${plan.blocked.length > 1 ? `, and ${plan.blocked.length - 1} more` : ''}); it may reference any blob`,
    );
  }
  const v2 = bucket.location.v2Prefix;
  let repos = await listRepositories(bucket);
  let snaps = await snapshots(bucket, repos);
  const changed = differenceFromScan(o.scanned, snaps);
  if (changed !== null)
    throw new StorageError(
      `refusing to collect: the storage changed since the scan (${changed}); scan again and review the plan`,
    );
  const results = new Map<GcItem, GcItemResult>();
  let bytesFreed = 0;
  for (const kind of GC_ITEM_ORDER) {
    const items = plan.items.filter((i) => i.kind === kind);
    if (items.length === 0) continue;
    let named: Set<string> | null = null;
    let blobs: ListedObject[] = [];
    if (kind === 'blob') {
      // Just before the blobs go: what does every repository link now, and what do their fan-outs hold?
      repos = await listRepositories(bucket);
      snaps = await snapshots(bucket, repos);
      named = namedDigests(snaps);
      const fans = [...new Set(items.map((i) => i.path.slice(0, i.path.lastIndexOf('/') + 1)))];
      blobs = (await Promise.all(fans.map((f) => bucket.listAll(`${v2}${f}`)))).flat();
    }
    // The other kinds' keys are disjoint prefixes: the first listing still holds them.
    const byName = new Map(snaps.map((s) => [s.name, s]));
    const keys = keysOfItems(items, repos, blobs, v2);
    const going: GcItem[] = [];
    for (const item of items) {
      const detail = recheck(item, keys.get(item)!, v2, repos, byName, named);
      if (detail !== null)
        results.set(item, { path: item.path, kind: item.kind, outcome: 'skipped', detail, bytes: 0 });
      else going.push(item);
    }
    const groups =
      kind === 'repository'
        ? REPOSITORY_PART_ORDER.map((_, p) => going.flatMap((i) => inPartOrder(keys.get(i)!, v2, i)[p]!))
        : [going.flatMap((i) => keys.get(i)!)];
    try {
      if (o.batch) await o.batch.take(bucket, groups.flat());
      for (const g of groups) if (g.length > 0) await bucket.remove(g.map((k) => k.key));
    } catch (err) {
      if (err instanceof StorageError)
        throw new StorageError(
          `${err.message} (gc stopped; every request it finished is complete, rerun it to finish)`,
        );
      throw err;
    }
    for (const item of going) {
      const res: GcItemResult = {
        path: item.path,
        kind: item.kind,
        outcome: o.batch ? 'quarantined' : 'deleted',
        bytes: item.bytes,
      };
      bytesFreed += item.bytes;
      results.set(item, res);
    }
    for (const item of items) o.onItem?.(results.get(item)!);
  }
  return { items: plan.items.map((i) => results.get(i)!), bytesFreed };
}
