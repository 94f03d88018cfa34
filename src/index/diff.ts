/**
 * `regaudit diff`: set-based SQL over two attached indexes (schemas `a` and `b`), one scan each.
 * Every comparison is an indexed anti-join or join run inside SQLite; the changes land in a
 * temporary table (on disk), so neither side is ever held in JavaScript.
 */
import { newDatabase, type DB } from './open.js';

export const CHANGE_KINDS = [
  'repository-added',
  'repository-removed',
  'tag-added',
  'tag-removed',
  'tag-moved',
  'revision-added',
  'revision-removed',
  'layer-link-added',
  'layer-link-removed',
  'blob-added',
  'blob-removed',
  'blob-size-changed',
  'blob-corrupt-in-b',
  'upload-added',
  'upload-removed',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** Kinds that mean B lacks something A holds (`--fail-on missing`). */
export const MISSING_KINDS: readonly ChangeKind[] = [
  'repository-removed',
  'tag-removed',
  'tag-moved',
  'revision-removed',
  'layer-link-removed',
  'blob-removed',
  'blob-size-changed',
  'blob-corrupt-in-b',
  'upload-removed',
];

export interface Change {
  kind: ChangeKind;
  repository: string | null;
  tag: string | null;
  digest: string | null;
  /** tag-moved: the digests; blob-size-changed: the sizes. */
  from: string | number | null;
  to: string | number | null;
  bytes: number | null;
  /** upload-added / upload-removed only: the upload's id. */
  upload?: string;
}

export interface DiffSide {
  file: string;
  scanId: number;
  root: string;
}

/** An in-memory connection with both indexes attached read-only in spirit (nothing is written to them). */
export function attachBoth(a: DiffSide, b: DiffSide): DB {
  // Typed as the index connection the queries take; it writes only its own temporary tables.
  const db = newDatabase(':memory:') as unknown as DB;
  db.pragma('temp_store = FILE');
  db.pragma('cache_size = -16384');
  db.prepare(`ATTACH DATABASE ? AS a`).run(a.file);
  db.prepare(`ATTACH DATABASE ? AS b`).run(b.file);
  db.pragma('a.cache_size = -32768');
  db.pragma('b.cache_size = -32768');
  return db;
}

const CHANGES_TABLE = `CREATE TEMP TABLE changes (
  kind TEXT NOT NULL, repository TEXT, tag TEXT, digest TEXT, from_v ANY, to_v ANY, bytes INTEGER, upload TEXT)`;

/**
 * Computes every change from A's scan to B's into temp.changes. `uploads`: compare uploads too;
 * `verified`: both indexes hold verify results for their roots, so B's corrupt blobs are compared.
 */
export function computeChanges(db: DB, a: DiffSide, b: DiffSide, opts: { uploads: boolean }): { verified: boolean } {
  const sa = Number(a.scanId);
  const sb = Number(b.scanId);
  db.exec(`DROP TABLE IF EXISTS temp.changes; DROP TABLE IF EXISTS temp.repo_map;`);
  db.exec(CHANGES_TABLE);
  // Repositories by name; either id is NULL when the other side lacks it.
  db.exec(`
    CREATE TEMP TABLE repo_map (name TEXT PRIMARY KEY, a_id INTEGER, b_id INTEGER);
    CREATE INDEX temp.repo_map_b ON repo_map (b_id);
    INSERT INTO temp.repo_map (name, a_id, b_id)
      SELECT x.name, x.id, y.id FROM a.repositories x LEFT JOIN b.repositories y ON y.scan_id = ${sb} AND y.name = x.name
      WHERE x.scan_id = ${sa};
    INSERT INTO temp.repo_map (name, a_id, b_id)
      SELECT y.name, NULL, y.id FROM b.repositories y
      WHERE y.scan_id = ${sb} AND NOT EXISTS (SELECT 1 FROM a.repositories x WHERE x.scan_id = ${sa} AND x.name = y.name);
  `);
  const add = (sql: string): void =>
    void db.exec(`INSERT INTO temp.changes (kind, repository, tag, digest, from_v, to_v, bytes, upload) ${sql}`);

  add(`SELECT 'repository-removed', name, NULL, NULL, NULL, NULL, NULL, NULL FROM temp.repo_map WHERE b_id IS NULL`);
  add(`SELECT 'repository-added', name, NULL, NULL, NULL, NULL, NULL, NULL FROM temp.repo_map WHERE a_id IS NULL`);

  // Links of one kind present on side X and absent on side Y (same repository name, same path digest or tag).
  const links = (
    x: 'a' | 'b',
    y: 'a' | 'b',
    linkKind: string,
    change: string,
    sizeSide: string,
    scan: number,
  ): void => {
    add(`SELECT '${change}', m.name, NULL, l.path_digest, NULL, NULL,
           (SELECT size FROM ${sizeSide}.blobs WHERE scan_id = ${scan} AND digest = l.path_digest), NULL
         FROM temp.repo_map m JOIN ${x}.links l ON l.repo_id = m.${x}_id AND l.kind = '${linkKind}'
         WHERE m.${y}_id IS NULL
            OR NOT EXISTS (SELECT 1 FROM ${y}.links k WHERE k.repo_id = m.${y}_id AND k.kind = '${linkKind}' AND k.path_digest = l.path_digest)`);
  };
  links('a', 'b', 'revision', 'revision-removed', 'a', sa);
  links('b', 'a', 'revision', 'revision-added', 'b', sb);
  links('a', 'b', 'layer', 'layer-link-removed', 'a', sa);
  links('b', 'a', 'layer', 'layer-link-added', 'b', sb);

  // Tags: current links by (repository, tag); digest NULL when the link does not parse.
  const tags = (x: 'a' | 'b', y: 'a' | 'b', change: string): void => {
    add(`SELECT '${change}', m.name, l.tag, l.digest, NULL, NULL, NULL, NULL
         FROM temp.repo_map m JOIN ${x}.links l ON l.repo_id = m.${x}_id AND l.kind = 'tag-current'
         WHERE m.${y}_id IS NULL
            OR NOT EXISTS (SELECT 1 FROM ${y}.links k WHERE k.repo_id = m.${y}_id AND k.kind = 'tag-current' AND k.tag = l.tag)`);
  };
  tags('a', 'b', 'tag-removed');
  tags('b', 'a', 'tag-added');
  add(`SELECT 'tag-moved', m.name, x.tag, y.digest, x.digest, y.digest, NULL, NULL
       FROM temp.repo_map m
       CROSS JOIN a.links x ON x.repo_id = m.a_id AND x.kind = 'tag-current'
       CROSS JOIN b.links y ON y.repo_id = m.b_id AND y.kind = 'tag-current' AND y.tag = x.tag
       WHERE x.digest IS NOT y.digest`);

  // One pass over A's blobs finds both the removed and the resized ones.
  add(`SELECT CASE WHEN y.digest IS NULL THEN 'blob-removed' ELSE 'blob-size-changed' END, NULL, NULL, x.digest,
         CASE WHEN y.digest IS NULL THEN NULL ELSE x.size END, y.size, x.size, NULL
       FROM a.blobs x LEFT JOIN b.blobs y ON y.scan_id = ${sb} AND y.digest = x.digest
       WHERE x.scan_id = ${sa} AND (y.digest IS NULL OR y.size <> x.size)`);
  add(`SELECT 'blob-added', NULL, NULL, y.digest, NULL, NULL, y.size, NULL FROM b.blobs y
       WHERE y.scan_id = ${sb} AND NOT EXISTS (SELECT 1 FROM a.blobs x WHERE x.scan_id = ${sa} AND x.digest = y.digest)`);

  const hasResults = (s: 'a' | 'b', root: string): boolean =>
    db.prepare(`SELECT 1 FROM ${s}.blob_verifications WHERE root = ? LIMIT 1`).get(root) !== undefined;
  const verified = hasResults('a', a.root) && hasResults('b', b.root);
  if (verified) {
    // A current result in B (same size and mtime as B's scan) says corrupt, and A's does not.
    db.prepare(
      `INSERT INTO temp.changes (kind, repository, tag, digest, from_v, to_v, bytes, upload)
       SELECT 'blob-corrupt-in-b', NULL, NULL, y.digest, NULL, v.detail, y.size, NULL
       FROM b.blob_verifications v
       JOIN b.blobs y ON y.scan_id = ${sb} AND y.digest = v.digest AND y.size = v.size AND y.mtime_ms = v.mtime_ms
       JOIN a.blobs x ON x.scan_id = ${sa} AND x.digest = v.digest AND x.size = y.size
       WHERE v.root = @broot AND v.status = 'corrupt'
         AND NOT EXISTS (SELECT 1 FROM a.blob_verifications w WHERE w.root = @aroot AND w.digest = v.digest AND w.status = 'corrupt')`,
    ).run({ broot: b.root, aroot: a.root });
  }

  if (opts.uploads) {
    const uploads = (x: 'a' | 'b', y: 'a' | 'b', change: string): void => {
      add(`SELECT '${change}', m.name, NULL, NULL, NULL, NULL, u.size, u.upload_id
           FROM temp.repo_map m JOIN ${x}.uploads u ON u.repo_id = m.${x}_id
           WHERE m.${y}_id IS NULL
              OR NOT EXISTS (SELECT 1 FROM ${y}.uploads k WHERE k.repo_id = m.${y}_id AND k.upload_id = u.upload_id)`);
    };
    uploads('a', 'b', 'upload-removed');
    uploads('b', 'a', 'upload-added');
  }
  return { verified };
}

export interface ChangeCounts {
  kind: ChangeKind;
  count: number;
  bytes: number;
}

export function changeCounts(db: DB): ChangeCounts[] {
  return db
    .prepare(
      `SELECT kind, count(*) AS count, coalesce(sum(bytes), 0) AS bytes FROM temp.changes GROUP BY kind ORDER BY kind`,
    )
    .all() as ChangeCounts[];
}

/**
 * Tags of A that B can no longer serve: removed from B, or present with the same manifest whose
 * closure in B (manifest, index children, their config and layers) reaches a blob B lost, holds at
 * another size or holds corrupt, or a revision or layer link B's repository lost.
 */
export function unpullableTags(db: DB, b: DiffSide): string[] {
  const sb = Number(b.scanId);
  const anyBad =
    db
      .prepare(
        `SELECT 1 FROM temp.changes WHERE kind IN ('blob-removed', 'blob-size-changed', 'blob-corrupt-in-b', 'revision-removed', 'layer-link-removed') LIMIT 1`,
      )
      .get() !== undefined;
  const removed = `SELECT repository || ':' || tag AS t FROM temp.changes WHERE kind = 'tag-removed'`;
  if (!anyBad) return db.prepare(`${removed} ORDER BY t`).pluck().all() as string[];
  // From the few damaged digests up to the tags that reach them (never over every tag of B):
  // blob → manifests using it → index manifests listing those → tag current links.
  const uses = `r.role IN ('config', 'layer', 'blobsum') AND r.is_foreign = 0`;
  return db
    .prepare(
      `WITH bad (repo, d, kind) AS (
         SELECT repository, digest, kind FROM temp.changes
         WHERE kind IN ('blob-removed', 'blob-size-changed', 'blob-corrupt-in-b', 'revision-removed', 'layer-link-removed')),
       up1 (repo, m) AS (
         SELECT repo, d FROM bad WHERE kind <> 'layer-link-removed'
         UNION SELECT x.repo, r.manifest_digest FROM bad x
           CROSS JOIN b.manifest_refs r ON r.scan_id = ${sb} AND r.ref_digest = x.d
           WHERE x.kind <> 'revision-removed' AND ${uses}),
       up2 (repo, m) AS (
         SELECT repo, m FROM up1
         UNION SELECT u.repo, r.manifest_digest FROM up1 u
           CROSS JOIN b.manifest_refs r ON r.scan_id = ${sb} AND r.ref_digest = u.m AND r.role = 'child'),
       hit (repo, a_id, tag, m) AS (
         SELECT DISTINCT rm.name, rm.a_id, l.tag, l.digest FROM up2 u
           CROSS JOIN b.links l ON l.digest = u.m AND l.kind = 'tag-current'
           CROSS JOIN temp.repo_map rm ON rm.b_id = l.repo_id
           WHERE u.repo IS NULL OR u.repo = rm.name)
       SELECT h.repo || ':' || h.tag AS t FROM hit h
       WHERE EXISTS (SELECT 1 FROM a.links k WHERE k.repo_id = h.a_id AND k.kind = 'tag-current' AND k.tag = h.tag AND k.digest = h.m)
       UNION ${removed}
       ORDER BY t`,
    )
    .pluck()
    .all() as string[];
}

interface ChangeRow {
  kind: ChangeKind;
  repository: string | null;
  tag: string | null;
  digest: string | null;
  from_v: string | number | null;
  to_v: string | number | null;
  bytes: number | null;
  upload: string | null;
}

/** The changes sorted by kind, repository, tag, digest (and upload), one at a time. */
export function* iterateChanges(db: DB): Generator<Change> {
  const rows = db
    .prepare(
      `SELECT * FROM temp.changes ORDER BY kind, coalesce(repository, ''), coalesce(tag, ''), coalesce(digest, ''), coalesce(upload, '')`,
    )
    .iterate() as IterableIterator<ChangeRow>;
  for (const r of rows) {
    const c: Change = {
      kind: r.kind,
      repository: r.repository,
      tag: r.tag,
      digest: r.digest,
      from: r.from_v,
      to: r.to_v,
      bytes: r.bytes,
    };
    if (r.upload !== null) c.upload = r.upload;
    yield c;
  }
}
