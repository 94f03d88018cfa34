/**
 * What `regaudit gc` plans from, read from one scan: blobs with their holders, layer links, revision
 * links, stale-upload candidates, and everything that makes part of the storage unknown.
 */
import path from 'node:path';
import { parseDigest } from '../layout/digest.js';
import { BLOBS, pathFor } from '../layout/paths.js';
import type { ReadableDB } from './open.js';

export interface GcBlobRow {
  digest: string;
  size: number;
  mtimeMs: number;
  /** Some revision of some repository holds it (manifest, config, layer, child). */
  held: boolean;
  /** Some repository holds it through a manifest in a tag's closure (3.x -m marking). */
  live: boolean;
  /** Newest mtime of any link in any repository naming it (a push in progress links before it tags). */
  newestLinkMs: number | null;
  /** The one repository that holds or links it, when exactly one does. */
  owner: string | null;
}

export interface GcLinkRow {
  repository: string;
  digest: string;
  mtimeMs: number;
  /** Bytes of the blob it names; null when the blob is not in blobs/. */
  size: number | null;
  /** Revisions of the repository hold the digest. */
  held: boolean;
  /** ...through a manifest in a tag's closure. */
  live: boolean;
}

export interface GcUploadRow {
  repository: string;
  id: string;
  size: number;
  mtimeMs: number;
  startedMs: number | null;
}

export interface GcUnknownRow {
  /** Repository name, or a path relative to docker/registry/v2. */
  where: string;
  why: string;
}

/**
 * What the plan can act on, and nothing it would skip: on the large benchmark tree (400 k blobs,
 * 300 k layer links) reading every row into objects took 5.9 s and 567 MB for a plan of a few
 * thousand items. With `deleteUntagged` a row held only by untagged manifests is a candidate too.
 */
export interface GcCandidates {
  deleteUntagged: boolean;
}

/** Held rows that keep a blob or link whatever the plan decides about untagged manifests. */
const keeps = (c: GcCandidates): string => `h.holders > 0${c.deleteUntagged ? ' AND h.live = 1' : ''}`;

/**
 * Rows read from the index each time they are iterated (`iterate`, not `all`): a plan of 400 k items
 * (`--delete-untagged` on the large benchmark tree) never holds its rows at once. Sorted by the
 * path of what they name, which is the plan's order.
 */
function streamed<R, T>(db: ReadableDB, sql: string, params: Record<string, unknown>, map: (r: R) => T): Iterable<T> {
  const stmt = db.prepare(sql);
  return {
    *[Symbol.iterator]() {
      for (const r of stmt.iterate(params) as IterableIterator<R>) yield map(r);
    },
  };
}

type Flags<T> = Omit<T, 'held' | 'live'> & { held: number; live: number };
const flags = <T>(r: Flags<T>): T => ({ ...r, held: r.held === 1, live: r.live === 1 }) as T;

/**
 * Blobs no revision holds (or, with deleteUntagged, that no tag's closure holds), by digest. Without
 * deleteUntagged they are the scan's `unheld_blobs` (derived with it), which spares a held lookup for
 * each of the 400 k blobs of the large benchmark tree.
 */
export function gcBlobRows(db: ReadableDB, scanId: number, c: GcCandidates): Iterable<GcBlobRow> {
  const perBlob = `(SELECT max(l.mtime_ms) FROM links l JOIN repositories r ON r.id = l.repo_id
          WHERE r.scan_id = :scan AND l.digest = b.digest) AS newestLinkMs,
         (SELECT CASE WHEN count(*) = 1 THEN max(r.name) END FROM held h JOIN repositories r ON r.id = h.repo_id
          WHERE h.scan_id = :scan AND h.digest = b.digest) AS owner`;
  return streamed(
    db,
    c.deleteUntagged
      ? `SELECT b.digest, b.size, b.mtime_ms AS mtimeMs,
         EXISTS (SELECT 1 FROM held h WHERE h.scan_id = :scan AND h.digest = b.digest AND h.holders > 0) AS held,
         EXISTS (SELECT 1 FROM held h WHERE h.scan_id = :scan AND h.digest = b.digest AND h.holders > 0 AND h.live = 1) AS live,
         ${perBlob}
       FROM blobs b WHERE b.scan_id = :scan
         AND NOT EXISTS (SELECT 1 FROM held h WHERE h.scan_id = :scan AND h.digest = b.digest AND ${keeps(c)})
       ORDER BY b.digest`
      : `SELECT b.digest, b.size, b.mtime_ms AS mtimeMs, 0 AS held, 0 AS live, ${perBlob}
       FROM unheld_blobs u JOIN blobs b ON b.scan_id = u.scan_id AND b.digest = u.digest
       WHERE u.scan_id = :scan
       ORDER BY u.digest`,
    { scan: scanId },
    flags<GcBlobRow>,
  );
}

/**
 * Sorted by the link directory's path, `repositories/<name>/<dir>/<alg>/<hex>` (src/layout/paths.ts).
 * `where` selects from the held row of (repository, digest): every link whose content is the digest
 * its path spells has one (the derivation adds a row for each digest a `_layers` link names), and
 * its size is the blob's. Reading from held and looking up the few chosen links is 3 times faster on
 * the large benchmark tree than looking up a blob and a held row for each of its 300 k layer links.
 */
function linkRows(db: ReadableDB, scanId: number, kind: 'layer' | 'revision', where: string): Iterable<GcLinkRow> {
  const dir = kind === 'layer' ? '_layers' : '_manifests/revisions';
  return streamed(
    db,
    `SELECT r.name AS repository, h.digest, l.mtime_ms AS mtimeMs, h.size,
         h.holders > 0 AS held, h.holders > 0 AND h.live = 1 AS live
       FROM repositories r JOIN held h ON h.repo_id = r.id
       JOIN links l INDEXED BY links_by_repo ON l.repo_id = h.repo_id AND l.kind = :kind AND l.path_digest = h.digest
       WHERE r.scan_id = :scan AND (${where}) AND l.problem IS NULL AND l.digest = l.path_digest
       ORDER BY r.name || '/${dir}/' || replace(h.digest, ':', '/')`,
    { scan: scanId, kind },
    flags<GcLinkRow>,
  );
}

/** `_layers` links that parse and name the digest their path spells, whose blob is gone or not kept. */
export function gcLayerLinkRows(db: ReadableDB, scanId: number, c: GcCandidates): Iterable<GcLinkRow> {
  return linkRows(db, scanId, 'layer', `h.linked = 1 AND (h.size IS NULL OR NOT (${keeps(c)}))`);
}

/** With deleteUntagged, revision links of untagged manifests (held, outside every tag's closure); else none. */
export function gcRevisionRows(db: ReadableDB, scanId: number, c: GcCandidates): Iterable<GcLinkRow> {
  return c.deleteUntagged ? linkRows(db, scanId, 'revision', 'h.holders > 0 AND h.live = 0') : [];
}

export function gcUploadRows(db: ReadableDB, scanId: number): Iterable<GcUploadRow> {
  return streamed(
    db,
    `SELECT r.name AS repository, u.upload_id AS id, u.size, u.mtime_ms AS mtimeMs, u.started_ms AS startedMs
       FROM repositories r JOIN uploads u ON u.repo_id = r.id WHERE r.scan_id = :scan
       ORDER BY r.name || '/_uploads/' || u.upload_id`,
    { scan: scanId },
    (r: GcUploadRow) => r,
  );
}

/**
 * Everything that hides what the storage references: unreadable or symlinked parts, links that do
 * not parse (or name another digest than their path), and manifests whose references were not read.
 * Any one of them could reference any blob.
 */
export function gcUnknowns(db: ReadableDB, scanId: number): GcUnknownRow[] {
  const p = { scan: scanId };
  const repos = db
    .prepare(`SELECT name AS "where", problem AS why FROM repositories WHERE scan_id = :scan AND problem IS NOT NULL`)
    .all(p) as GcUnknownRow[];
  const debris = db
    .prepare(
      `SELECT path AS "where", kind || coalesce(': ' || detail, '') AS why FROM debris
       WHERE scan_id = :scan AND kind IN ('unreadable', 'symlink')`,
    )
    .all(p) as GcUnknownRow[];
  const links = db
    .prepare(
      `SELECT r.name AS "where",
         l.kind || ' link ' || coalesce(l.tag, l.path_digest, '') || ' ' ||
           CASE WHEN l.problem IS NOT NULL THEN 'is ' || l.problem ELSE 'names ' || l.digest END AS why
       FROM repositories r JOIN links l ON l.repo_id = r.id
       WHERE r.scan_id = :scan AND (l.problem IS NOT NULL OR (l.path_digest IS NOT NULL AND l.digest <> l.path_digest))`,
    )
    .all(p) as GcUnknownRow[];
  // CROSS JOIN: from the few unread manifests to their holders, as gcManifests (index/gc.ts) does;
  // the planner otherwise walks every held row of the scan (0.6 s on the large benchmark tree, 19 ms so).
  const manifests = db
    .prepare(
      `SELECT DISTINCT r.name AS "where", 'manifest ' || m.digest || ' was not read (' || m.problem || ')' AS why
       FROM manifests m CROSS JOIN held h ON h.scan_id = :scan AND h.digest = m.digest AND h.revision = 1
       JOIN repositories r ON r.id = h.repo_id
       WHERE m.scan_id = :scan AND m.problem IS NOT NULL AND m.problem <> 'missing'`,
    )
    .all(p) as GcUnknownRow[];
  return [...repos, ...debris, ...links, ...manifests].sort((a, b) =>
    a.where < b.where ? -1 : a.where > b.where ? 1 : a.why < b.why ? -1 : a.why > b.why ? 1 : 0,
  );
}

/**
 * Blob digest directories the scan found without a `data` file and with nothing else in them (what
 * a run killed between removing a blob's data and its directory leaves), as digests: the stamps of
 * the blob fan-out directories list exactly the digest directories that hold no `data`.
 */
export function gcEmptyBlobDirs(db: ReadableDB, scanId: number): string[] {
  const fans = db
    .prepare(`SELECT alg, fan, extra FROM blob_fans WHERE scan_id = ? ORDER BY alg, fan`)
    .all(scanId) as Array<{
    alg: string;
    fan: string;
    extra: string;
  }>;
  const debris = db
    .prepare(`SELECT path FROM debris WHERE scan_id = ? AND path LIKE ?`)
    .pluck()
    .all(scanId, `${BLOBS}/%`) as string[];
  // The plan keeps a directory a layer or revision link names; it sees only candidate links, so the index asks.
  const named = db.prepare(
    `SELECT 1 FROM links l JOIN repositories r ON r.id = l.repo_id
     WHERE l.digest = ? AND l.kind IN ('layer', 'revision') AND l.problem IS NULL AND l.path_digest = l.digest
       AND r.scan_id = ? LIMIT 1`,
  );
  const out: string[] = [];
  for (const f of fans)
    for (const e of JSON.parse(f.extra) as string[]) {
      const digest = e.startsWith(f.fan) ? parseDigest(`${f.alg}:${e}`) : null;
      if (digest === null) continue;
      // A directory holding anything (a stray file, an unreadable entry) is not empty.
      const dir = path.posix.dirname(pathFor({ kind: 'blobData', digest }));
      if (debris.some((p) => p === dir || p.startsWith(`${dir}/`))) continue;
      if (named.get(digest, scanId) === undefined) out.push(digest);
    }
  return out;
}
