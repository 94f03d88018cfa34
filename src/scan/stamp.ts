/**
 * Stamps make a rescan incremental without losing exactness.
 *
 * While reading a repository (or a blob fan-out directory) the scanner stats every directory and
 * file it relies on. The stamp is a hash of those paths with their mtime, ctime and size. Any entry
 * added or removed changes its directory's mtime; any file rewritten in place changes its own; so
 * an equal stamp means an identical subtree. Most of the paths follow from the rows already in the
 * index (a layer link row gives `_layers/<alg>/<hex>/link` and its directories); only the rest
 * (empty revision directories, upload files, …) is stored beside the stamp as `extra`.
 * A rescan stats exactly those paths — no directory listing, no file read — and re-reads a subtree
 * only when its stamp differs.
 */
import { createHash } from 'node:crypto';
import type { StorageReader } from '../storage/driver.js';
import { REPOSITORY_PARTS, fanDataPath, repoPathFor } from '../layout/paths.js';
import type { Digest } from '../layout/digest.js';

export interface StatEntry {
  rel: string;
  mtimeMs: number;
  ctimeMs: number;
  size: number;
}

export interface Stamp {
  stamp: string;
  extra: string[];
}

/** Hash of entries, order-independent. */
export function stampOf(entries: readonly StatEntry[]): string {
  // The same bytes as one update per entry, in one call: a million crossings into the hash fewer per scan.
  const lines = [...entries]
    .sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))
    .map((e) => `${e.rel}\u0000${e.mtimeMs}\u0000${e.ctimeMs}\u0000${e.size}\n`);
  return createHash('sha1').update(lines.join('')).digest('base64');
}

/**
 * The stamp of everything a reader stat'ed, with the paths `derived` does not cover.
 * A digest directory holding its `link` or `data` file is never stat'ed (the readers open the file
 * by name, or list the directory and find it): the file's own ctime already changes when it is
 * replaced or removed, so the directory's stat would only add a syscall per link and per blob. What
 * that gives up: a stray file (such as `link.<uuid>.tmp`) appearing next to an unchanged link is
 * found by the next full scan (`scan --full`), not by a rescan. Earlier versions also left out any
 * stat'ed directory with a stat'ed entry named `data` or `link` inside (in practice an upload
 * directory), which cost a set of every link's directory per repository; an index they wrote still
 * rescans exactly, since a rescan hashes the paths stored with the stamp and never calls this.
 */
export function makeStamp(statted: readonly StatEntry[], derived: ReadonlySet<string>): Stamp {
  const extra: string[] = [];
  for (const e of statted) if (!derived.has(e.rel)) extra.push(e.rel);
  return { stamp: stampOf(statted), extra: extra.sort() };
}

/** Re-stats derived ∪ extra under `base`; true when the stamp still matches. */
export function stampStillValid(
  storage: StorageReader,
  base: string,
  derived: Iterable<string>,
  extra: readonly string[],
  stamp: string,
): boolean {
  const entries: StatEntry[] = [];
  const seen = new Set<string>();
  for (const rel of [...derived, ...extra]) {
    if (seen.has(rel)) continue;
    seen.add(rel);
    try {
      const st = storage.lstat(`${base}/${rel}`);
      entries.push({ rel, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size });
    } catch {
      return false;
    }
  }
  return stampOf(entries) === stamp;
}

export interface LinkPathRow {
  kind: string;
  tag: string | null;
  pathDigest: string | null;
}

/** Paths inside a repository that its index rows imply (relative to the repository directory). */
export function derivedRepositoryPaths(r: {
  hasLayers: boolean;
  hasManifests: boolean;
  hasUploads: boolean;
  tags: readonly string[];
  links: readonly LinkPathRow[];
}): Set<string> {
  const out = new Set<string>();
  const present = { _layers: r.hasLayers, _manifests: r.hasManifests, _uploads: r.hasUploads };
  for (const part of REPOSITORY_PARTS) if (present[part]) out.add(repoPathFor({ kind: 'part', part }));
  for (const tag of r.tags) {
    out.add(repoPathFor({ kind: 'tagsDir' }));
    out.add(repoPathFor({ kind: 'tagDir', tag }));
  }
  for (const l of r.links) {
    if (l.kind === 'tag-current') {
      out.add(repoPathFor({ kind: 'tagCurrentLink', tag: l.tag! }));
      continue;
    }
    if (!l.pathDigest) continue;
    const digest = l.pathDigest as Digest;
    const alg = digest.slice(0, digest.indexOf(':'));
    if (l.kind === 'layer') {
      out.add(repoPathFor({ kind: 'layersDir' }));
      out.add(repoPathFor({ kind: 'layersDir', alg }));
      out.add(repoPathFor({ kind: 'layerLink', digest }));
    } else if (l.kind === 'revision') {
      out.add(repoPathFor({ kind: 'revisionsDir' }));
      out.add(repoPathFor({ kind: 'revisionsDir', alg }));
      out.add(repoPathFor({ kind: 'revisionLink', digest }));
    } else {
      const tag = l.tag!;
      out.add(repoPathFor({ kind: 'tagIndexDir', tag }));
      out.add(repoPathFor({ kind: 'tagIndexDir', tag, alg }));
      out.add(repoPathFor({ kind: 'tagIndexLink', tag, digest }));
    }
  }
  return out;
}

/** Paths inside a blob fan-out directory that its blob rows imply (relative to the fan directory). */
export function derivedFanPaths(digests: Iterable<string>): Set<string> {
  const out = new Set<string>(['.']);
  for (const d of digests) {
    out.add(fanDataPath(d.slice(d.indexOf(':') + 1)));
  }
  return out;
}
