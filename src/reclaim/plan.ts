/**
 * `regaudit gc` planning, pure: what goes, why, and the bytes it frees, from one scan.
 *
 * Parts, in the order apply takes them (references before what they reference, so a kill at any
 * point leaves every tag servable):
 *   1. untagged manifests (--delete-untagged): revisions outside every tag's closure, 3.x's rule, so
 *      the children of a tagged index are never untagged;
 *   2. `_layers` links whose blob is gone, and links no kept manifest of the repository references;
 *   3. stale uploads (older than --upload-age);
 *   4. empty repositories, exactly as prune plans them;
 *   5. unreferenced blobs: no revision of any repository holds them (with --delete-untagged: none
 *      in a tag's closure).
 * Nothing newer than --min-age is planned; a blob named by a link newer than that neither (a push
 * in progress links its blobs before its manifest holds them).
 */
import path from 'node:path';
import type { RepositoryReport } from '../audit/rules.js';
import type { GcBlobRow, GcLinkRow, GcUnknownRow, GcUploadRow } from '../index/gc-plan.js';
import { parseDigest, type Digest } from '../layout/digest.js';
import { pathFor, REPOSITORY_PARTS } from '../layout/paths.js';
import { planPrune } from '../prune/plan.js';

export type GcItemKind = 'manifest' | 'layer-link' | 'upload' | 'repository' | 'blob';

export const GC_ITEM_ORDER: readonly GcItemKind[] = ['manifest', 'layer-link', 'upload', 'repository', 'blob'];

export type GcReason =
  | 'untagged'
  | 'blob-missing'
  | 'unreferenced-link'
  | 'stale-upload'
  | 'empty-repository'
  | 'unreferenced'
  | 'untagged-only'
  | 'empty-directory';

export type GcKeepReason = 'recent' | 'recent-link' | 'held-by-kept-manifest' | 'upload-in-progress' | 'unreadable';

export interface GcItem {
  kind: GcItemKind;
  /** What is removed, relative to docker/registry/v2 (a directory; for a repository, its parts). */
  path: string;
  repository?: string;
  digest?: string;
  /** Bytes this removal frees: the blob's size, the upload's data; 0 for links and repositories. */
  bytes: number;
  reason: GcReason;
  /** What apply checks just before removing it: the newest mtime (ms) the scan saw, and for repositories the entry count. */
  expect: { mtimeMs: number; size?: number; entries?: number; olderThanMs?: number };
}

export interface GcKept {
  kind: GcItemKind;
  path: string;
  repository?: string;
  digest?: string;
  reason: GcKeepReason;
  detail: string;
}

export interface GcRepositorySummary {
  name: string;
  manifests: number;
  layerLinks: number;
  uploads: number;
  /** The repository itself is deleted (it was empty). */
  deleted: boolean;
  /** Blob bytes only this repository held or linked, plus its uploads' bytes. */
  bytes: number;
}

export interface GcTotals {
  blobs: number;
  blobBytes: number;
  manifests: number;
  layerLinks: number;
  uploads: number;
  uploadBytes: number;
  repositories: number;
  /** Blob directories without data (a killed run's leftovers), removed with the blobs. */
  emptyDirectories: number;
  /** blobBytes + uploadBytes. */
  bytes: number;
}

export interface GcPlan {
  deleteUntagged: boolean;
  /** Parts of the storage that could not be read: while any is listed, apply refuses. */
  blocked: GcUnknownRow[];
  /** In apply order. Empty when `each` is set. */
  items: GcItem[];
  /**
   * Set when the plan was too large to hold (a dry run written as it is computed): the items in
   * apply order, computed again from the index each time it is called.
   */
  each?: () => Iterable<GcItem>;
  kept: GcKept[];
  repositories: GcRepositorySummary[];
  totals: GcTotals;
}

/**
 * Rows the plan may act on. The index passes only candidates (src/index/gc-plan.ts: rows a kept
 * manifest holds are left out); rows the plan would skip anyway may be passed too, as tests do.
 */
export interface GcPlanInput {
  blobs: Iterable<GcBlobRow>;
  layerLinks: Iterable<GcLinkRow>;
  revisions: Iterable<GcLinkRow>;
  uploads: Iterable<GcUploadRow>;
  repositories: readonly RepositoryReport[];
  unknowns: readonly GcUnknownRow[];
  /** Digests whose blob directory is empty (no data): the registry reads them as absent. */
  emptyBlobDirs?: readonly string[];
}

export interface GcPlanOptions {
  now: number;
  minAgeMs: number;
  uploadAgeMs: number;
  deleteUntagged: boolean;
  layerLinks: boolean;
  uploads: boolean;
  repositories: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Digests come from the index, where the scanner stored only parsed ones. */
function asDigest(s: string): Digest {
  const d = parseDigest(s);
  if (d === null) throw new Error(`not a digest in the index: ${s}`);
  return d;
}

function linkDir(kind: 'layerLink' | 'revisionLink', repo: string, digest: string): string {
  return path.posix.dirname(pathFor({ kind, repo, digest: asDigest(digest) }));
}

export function planGc(input: GcPlanInput, o: GcPlanOptions): GcPlan {
  const kept: GcKept[] = [];
  const items = [...gcItems(input, o, (k) => kept.push(k))];
  items.sort(byKindAndPath);
  return {
    deleteUntagged: o.deleteUntagged,
    blocked: [...input.unknowns],
    items,
    kept: sortKept(kept),
    ...summarise(items),
  };
}

const order = (k: GcItemKind): number => GC_ITEM_ORDER.indexOf(k);

/** The plan's order: apply order by kind, then by path. */
export const byKindAndPath = (a: { kind: GcItemKind; path: string }, b: { kind: GcItemKind; path: string }): number =>
  order(a.kind) - order(b.kind) || cmp(a.path, b.path);

export const sortKept = (kept: GcKept[]): GcKept[] => kept.sort(byKindAndPath);

/**
 * The plan's items kind by kind in apply order, each kind in the order of its rows (so in plan
 * order when the rows come sorted by path, as the index gives them); what the guards hold back
 * goes to `keep`. Each source is iterated once (layer links and revisions also mark the empty
 * blob directories a link names), so rows may stream from the index.
 */
export function* gcItems(input: GcPlanInput, o: GcPlanOptions, keep: (k: GcKept) => void): Generator<GcItem> {
  const recent = (ms: number): boolean => o.now - ms < o.minAgeMs;

  // 4 first: an empty repository takes its layer links and uploads with it.
  const gone = new Set<string>();
  const repositoryItems: GcItem[] = [];
  if (o.repositories) {
    const pr = planPrune(input.repositories, [], { now: o.now, minAgeMs: o.minAgeMs, uploadAgeMs: o.uploadAgeMs });
    for (const r of pr.repositories) {
      const p = pathFor({ kind: 'repository', repo: r.name });
      if (r.action === 'delete') {
        gone.add(r.name);
        repositoryItems.push({
          kind: 'repository',
          path: p,
          repository: r.name,
          bytes: 0,
          reason: 'empty-repository',
          expect: { mtimeMs: r.expect.newestMtimeMs, entries: r.expect.entries },
        });
      } else {
        const reason: GcKeepReason =
          r.reason === 'upload-in-progress'
            ? 'upload-in-progress'
            : r.reason === 'unreadable'
              ? 'unreadable'
              : 'recent';
        keep({ kind: 'repository', path: p, repository: r.name, reason, detail: r.detail ?? '' });
      }
    }
  }
  repositoryItems.sort(byKindAndPath);

  // Empty blob directories a layer or revision link names stay (a push may be about to move data in).
  const emptyDirs = new Set(input.emptyBlobDirs ?? []);
  const linked = new Set<string>();
  const mark = (digest: string): void => {
    if (emptyDirs.has(digest)) linked.add(digest);
  };

  // 1. Untagged manifests. A revision kept for its age keeps everything only untagged manifests hold.
  let untaggedKept = false;
  if (o.deleteUntagged || emptyDirs.size > 0) {
    for (const r of input.revisions) {
      mark(r.digest);
      if (!o.deleteUntagged || !r.held || r.live || gone.has(r.repository)) continue;
      const p = linkDir('revisionLink', r.repository, r.digest);
      if (recent(r.mtimeMs)) {
        untaggedKept = true;
        keep({
          kind: 'manifest',
          path: p,
          repository: r.repository,
          digest: r.digest,
          reason: 'recent',
          detail: `revision link written ${iso(r.mtimeMs)}`,
        });
        continue;
      }
      yield {
        kind: 'manifest',
        path: p,
        repository: r.repository,
        digest: r.digest,
        bytes: 0,
        reason: 'untagged',
        expect: { mtimeMs: r.mtimeMs },
      };
    }
  }
  const needed = (held: boolean, live: boolean): boolean => held && (!o.deleteUntagged || live || untaggedKept);

  // 2. Layer links.
  if (o.layerLinks || emptyDirs.size > 0) {
    for (const l of input.layerLinks) {
      mark(l.digest);
      if (!o.layerLinks || gone.has(l.repository)) continue;
      const missing = l.size === null;
      if (!missing && needed(l.held, l.live)) continue;
      const p = linkDir('layerLink', l.repository, l.digest);
      if (recent(l.mtimeMs)) {
        keep({
          kind: 'layer-link',
          path: p,
          repository: l.repository,
          digest: l.digest,
          reason: 'recent',
          detail: `link written ${iso(l.mtimeMs)}`,
        });
        continue;
      }
      yield {
        kind: 'layer-link',
        path: p,
        repository: l.repository,
        digest: l.digest,
        bytes: 0,
        reason: missing ? 'blob-missing' : 'unreferenced-link',
        expect: { mtimeMs: l.mtimeMs },
      };
    }
  }

  // 3. Stale uploads.
  if (o.uploads) {
    for (const u of input.uploads) {
      if (gone.has(u.repository)) continue;
      const p = pathFor({ kind: 'upload', repo: u.repository, id: u.id });
      const newest = Math.max(u.mtimeMs, u.startedMs ?? 0);
      if (o.now - newest < o.uploadAgeMs) {
        keep({
          kind: 'upload',
          path: p,
          repository: u.repository,
          reason: 'upload-in-progress',
          detail: `newest activity ${iso(newest)}`,
        });
        continue;
      }
      yield {
        kind: 'upload',
        path: p,
        repository: u.repository,
        bytes: u.size,
        reason: 'stale-upload',
        expect: { mtimeMs: u.mtimeMs },
      };
    }
  }

  yield* repositoryItems;

  // 5. Blobs, and empty blob directories (a killed run's leftovers) in path order among them: removed
  // with the blobs unless a link names the digest or, checked by apply, one is newer than --min-age.
  const empty: GcItem[] = [...emptyDirs]
    .filter((digest) => !linked.has(digest))
    .map((digest) => ({
      kind: 'blob',
      path: blobDir(digest),
      digest,
      bytes: 0,
      reason: 'empty-directory',
      expect: { mtimeMs: 0, olderThanMs: o.now - o.minAgeMs },
    }));
  empty.sort(byKindAndPath);
  let e = 0;
  for (const b of input.blobs) {
    if (needed(b.held, b.live)) {
      if (b.held && !b.live && o.deleteUntagged)
        keep({
          kind: 'blob',
          path: blobDir(b.digest),
          digest: b.digest,
          reason: 'held-by-kept-manifest',
          detail: 'an untagged manifest newer than --min-age holds blobs only untagged manifests hold',
        });
      continue;
    }
    const p = blobDir(b.digest);
    if (recent(b.mtimeMs)) {
      keep({ kind: 'blob', path: p, digest: b.digest, reason: 'recent', detail: `written ${iso(b.mtimeMs)}` });
      continue;
    }
    if (b.newestLinkMs !== null && recent(b.newestLinkMs)) {
      keep({ kind: 'blob', path: p, digest: b.digest, reason: 'recent-link', detail: `linked ${iso(b.newestLinkMs)}` });
      continue;
    }
    while (e < empty.length && cmp(empty[e]!.path, p) < 0) yield empty[e++]!;
    yield {
      kind: 'blob',
      path: p,
      ...(b.owner !== null ? { repository: b.owner } : {}),
      digest: b.digest,
      bytes: b.size,
      reason: b.held ? 'untagged-only' : 'unreferenced',
      expect: { mtimeMs: b.mtimeMs, size: b.size },
    };
  }
  yield* empty.slice(e);
}

function blobDir(digest: string): string {
  return path.posix.dirname(pathFor({ kind: 'blobData', digest: asDigest(digest) }));
}

/** Per repository and in total. A blob counts for a repository when it was that repository's alone. */
export function summarise(items: Iterable<GcItem>): { repositories: GcRepositorySummary[]; totals: GcTotals } {
  const totals: GcTotals = {
    blobs: 0,
    blobBytes: 0,
    manifests: 0,
    layerLinks: 0,
    uploads: 0,
    uploadBytes: 0,
    repositories: 0,
    emptyDirectories: 0,
    bytes: 0,
  };
  const repos = new Map<string, GcRepositorySummary>();
  const repo = (name: string): GcRepositorySummary => {
    let r = repos.get(name);
    if (!r) repos.set(name, (r = { name, manifests: 0, layerLinks: 0, uploads: 0, deleted: false, bytes: 0 }));
    return r;
  };
  for (const i of items) {
    const r = i.repository !== undefined ? repo(i.repository) : undefined;
    if (r) r.bytes += i.bytes;
    switch (i.kind) {
      case 'blob':
        if (i.reason === 'empty-directory') {
          totals.emptyDirectories++;
          break;
        }
        totals.blobs++;
        totals.blobBytes += i.bytes;
        break;
      case 'manifest':
        totals.manifests++;
        if (r) r.manifests++;
        break;
      case 'layer-link':
        totals.layerLinks++;
        if (r) r.layerLinks++;
        break;
      case 'upload':
        totals.uploads++;
        totals.uploadBytes += i.bytes;
        if (r) r.uploads++;
        break;
      case 'repository':
        totals.repositories++;
        if (r) r.deleted = true;
        break;
    }
  }
  totals.bytes = totals.blobBytes + totals.uploadBytes;
  return { repositories: [...repos.values()].sort((a, b) => cmp(a.name, b.name)), totals };
}

/** The parts of a repository a gc removes, in prune's order (3.x marker, 2.x marker, uploads). */
export const REPOSITORY_PART_ORDER = [
  '_manifests',
  '_layers',
  '_uploads',
] as const satisfies readonly (typeof REPOSITORY_PARTS)[number][];
