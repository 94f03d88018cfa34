/**
 * The checks gc's apply makes against the scan, cheaply (I/O, reads only).
 *
 * A repository's stamp (scan/stamp.ts) hashes the mtime, ctime and size of every directory and
 * file the scanner relied on: a link rewritten changes its ctime, an entry added or removed changes
 * its directory's mtime. So re-stating exactly those paths (one lstat each, no listing, no read)
 * tells whether the repository is as the scan saw it — the same test the incremental rescan trusts.
 * What it gives up is what only a thorough read finds (a stray file appearing beside a good link),
 * which changes no gc decision.
 *
 * Before the blobs go, the run has itself removed links and uploads, so the stamps no longer hold.
 * Then every path the first check stat'ed is stat'ed again, except what the run removed; a directory
 * the run removed from may have a new mtime, and is listed instead: it must hold nothing the scan did
 * not see. A repository that passes names exactly what its index rows name (minus what the run
 * removed); any other (changed, new, or without a stamp) is read again, as the scanner reads it.
 */
import path from 'node:path';
import { errnoCode } from '../errors.js';
import type { GcGuardRepositories, GcGuardRepository } from '../index/gc-guard.js';
import type { RepositorySnapshot } from '../index/records.js';
import type { Digest } from '../layout/digest.js';
import { REPOSITORY_PARTS, repoPathFor, repositoryPath } from '../layout/paths.js';
import { rereadRepository } from '../scan/read-repository.js';
import { derivedRepositoryPaths, stampOf, type StatEntry } from '../scan/stamp.js';
import type { StorageReader } from '../storage/driver.js';
import type { GcItem } from './plan.js';

/** Every path the stamp covers with its stat now, or the first that could not be stat'ed. */
function statAll(storage: StorageReader, base: string, rels: readonly string[]): StatEntry[] | string {
  const out: StatEntry[] = [];
  for (const rel of rels) {
    try {
      const st = storage.lstat(`${base}/${rel}`);
      out.push({ rel, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size });
    } catch (err) {
      return errnoCode(err) === 'ENOENT' ? `${rel} is gone` : `${rel} cannot be read`;
    }
  }
  return out;
}

/**
 * A part (`_layers`, `_manifests`, `_uploads`) that appeared or vanished, or null. The scanner finds
 * the parts by listing the repository's directory, which the stamp does not cover.
 */
function partsDiffer(storage: StorageReader, base: string, r: GcGuardRepository): string | null {
  const had = { _layers: r.hasLayers, _manifests: r.hasManifests, _uploads: r.hasUploads };
  for (const part of REPOSITORY_PARTS) {
    let present = true;
    try {
      storage.lstat(`${base}/${part}`);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') return `${part} cannot be read`;
      present = false;
    }
    if (present !== had[part]) return `${part} ${present ? 'appeared' : 'is gone'}`;
  }
  return null;
}

/** The paths a repository's stamp covers, relative to the repository. */
function stampPaths(r: GcGuardRepository): string[] {
  return [...new Set([...derivedRepositoryPaths(r), ...r.extra])];
}

/** Digests the links of a snapshot name (a tag's index entries are history: nothing is served through them). */
function addNamed(
  named: Set<string>,
  links: RepositorySnapshot['links'] | GcGuardRepository['links'],
  wanted: ReadonlySet<string>,
): void {
  for (const l of links) {
    if (l.kind === 'tag-index') continue;
    if (l.digest !== null && wanted.has(l.digest)) named.add(l.digest);
    if (l.pathDigest !== null && wanted.has(l.pathDigest)) named.add(l.pathDigest);
  }
}

export class ScanGuard {
  /** Repositories whose stamp matched at the first check. */
  private readonly matched = new Set<string>();
  /**
   * What the first check stat'ed in a repository this run may remove from (`touched`): mtime, ctime
   * and size of each stamp path, in stampPaths order. Any other repository is checked the second
   * time against its stamp alone, so the run holds no stats of the thousands it leaves alone.
   */
  private readonly seen = new Map<string, Float64Array>();

  constructor(
    private readonly storage: StorageReader,
    private readonly v2: string,
    private readonly scanned: GcGuardRepositories,
    private readonly touched: ReadonlySet<string>,
  ) {}

  private abs(name: string): string {
    return `${this.v2}/${repositoryPath(name)}`;
  }

  /** The repository read now as the scanner reads it. */
  private read(name: string): RepositorySnapshot {
    return rereadRepository(this.storage, this.abs(name), name, false);
  }

  /** How the repository differs from the scan, or null; remembers what it stat'ed. */
  repositoryChanged(name: string): string | null {
    const r = this.scanned.get(name);
    if (!r) return `repository ${name} appeared`;
    if (r.stamp === null) {
      // An index written before stamps: compare what the old re-check compared.
      const s = this.read(name);
      if (s.problem !== null) return `repository ${name}: ${s.problem}`;
      if (s.entries !== r.entries || s.newestMtimeMs !== r.newestMtimeMs)
        return `repository ${name} changed (entries ${r.entries} → ${s.entries}, newest ${r.newestMtimeMs} → ${s.newestMtimeMs})`;
      return null;
    }
    const parts = partsDiffer(this.storage, this.abs(name), r);
    if (parts !== null) return `repository ${name} changed (${parts})`;
    const now = statAll(this.storage, this.abs(name), stampPaths(r));
    if (typeof now === 'string') return `repository ${name} changed (${now})`;
    if (stampOf(now) !== r.stamp) return `repository ${name} changed (an entry was added, removed or rewritten)`;
    this.matched.add(name);
    if (this.touched.has(name)) {
      const stats = new Float64Array(3 * now.length);
      now.forEach((e, i) => stats.set([e.mtimeMs, e.ctimeMs, e.size], 3 * i));
      this.seen.set(name, stats);
    }
    return null;
  }

  /** The first way the storage differs from the scan, or null. `now` lists the repositories there now. */
  changedSinceScan(now: readonly string[]): string | null {
    const scanned = new Set(this.scanned.names());
    for (const name of now) if (!scanned.has(name)) return `repository ${name} appeared`;
    const present = new Set(now);
    for (const name of scanned) {
      if (!present.has(name)) return `repository ${name} is gone`;
      const why = this.repositoryChanged(name);
      if (why !== null) return why;
    }
    return null;
  }

  /**
   * Every digest in `wanted` (the blobs the run is about to remove) that some link of some
   * repository names now, given the items this run removed (`done`) and `now`, the repositories
   * there now; or the problem that stops the blobs.
   */
  namedNow(
    now: readonly string[],
    done: readonly GcItem[],
    wanted: ReadonlySet<string>,
  ): { named: Set<string>; problem: string | null } {
    const named = new Set<string>();
    const removed = new Map<string, string[]>();
    const gone = new Set<string>();
    for (const i of done) {
      if (i.repository === undefined) continue;
      if (i.kind === 'repository') gone.add(i.repository);
      else if (i.kind !== 'blob')
        (removed.get(i.repository) ?? removed.set(i.repository, []).get(i.repository)!).push(
          i.path.slice(repositoryPath(i.repository).length + 1),
        );
    }
    for (const name of now) {
      const r = gone.has(name) ? undefined : this.scanned.get(name);
      const rels = removed.get(name) ?? [];
      if (r && this.unchangedBut(r, rels)) {
        const dropped = new Set(rels);
        addNamed(
          named,
          r.links.filter((l) => l.pathDigest === null || !dropped.has(linkDir(l))),
          wanted,
        );
        continue;
      }
      const s = this.read(name);
      if (s.problem !== null) return { named, problem: `repository ${name}: ${s.problem}` };
      const bad = s.links.find((l) => l.kind !== 'tag-index' && l.problem !== null);
      if (bad) return { named, problem: `repository ${name}: a ${bad.kind} link is ${bad.problem}` };
      addNamed(named, s.links, wanted);
    }
    return { named, problem: null };
  }

  /** True when everything the first check stat'ed is as it was, but for `rels` (removed by this run). */
  private unchangedBut(r: GcGuardRepository, rels: readonly string[]): boolean {
    const name = r.name;
    if (!this.matched.has(name)) return false;
    const base = this.abs(name);
    if (partsDiffer(this.storage, base, r) !== null) return false;
    const paths = stampPaths(r);
    if (rels.length === 0) {
      // Nothing removed here: the stamp the first check matched must still match.
      const now = statAll(this.storage, base, paths);
      return typeof now !== 'string' && stampOf(now) === r.stamp;
    }
    const before = this.seen.get(name);
    if (!before || before.length !== 3 * paths.length) return false;
    const under = (rel: string): boolean => rels.some((x) => rel === x || rel.startsWith(`${x}/`));
    const parents = new Set(rels.map((x) => path.posix.dirname(x)));
    for (let i = 0; i < paths.length; i++) {
      const rel = paths[i]!;
      if (under(rel)) continue;
      let st;
      try {
        st = this.storage.lstat(`${base}/${rel}`);
      } catch {
        return false;
      }
      if (st.mtimeMs === before[3 * i] && st.ctimeMs === before[3 * i + 1] && st.size === before[3 * i + 2]) continue;
      if (!parents.has(rel) || st.type !== 'dir') return false;
      // A directory this run removed from: it may hold only what the scan saw there.
      const known = new Set<string>();
      for (const k of paths)
        if (k.startsWith(`${rel}/`) && !under(k)) known.add(k.slice(rel.length + 1).split('/')[0]!);
      try {
        if (this.storage.list(`${base}/${rel}`).some((x) => !known.has(x.name))) return false;
      } catch {
        return false;
      }
    }
    return true;
  }
}

/** The directory of a `_layers` or revision link, relative to its repository. */
function linkDir(l: GcGuardRepository['links'][number]): string {
  const digest = l.pathDigest as Digest;
  const file =
    l.kind === 'layer'
      ? repoPathFor({ kind: 'layerLink', digest })
      : l.kind === 'revision'
        ? repoPathFor({ kind: 'revisionLink', digest })
        : repoPathFor({ kind: 'tagIndexLink', tag: l.tag!, digest });
  return path.posix.dirname(file);
}

/**
 * The newest mtime (ms, truncated as the scanner stores it) of a directory and everything under
 * it, or null when it is gone. An upload's re-check: the scan stored the same for it.
 */
export function newestUnder(storage: StorageReader, abs: string): number | null {
  let st;
  try {
    st = storage.lstat(abs);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  let newest = Math.trunc(st.mtimeMs);
  if (st.type !== 'dir') return newest;
  for (const e of storage.list(abs)) {
    const n = newestUnder(storage, `${abs}/${e.name}`);
    if (n !== null && n > newest) newest = n;
  }
  return newest;
}
