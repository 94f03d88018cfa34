/**
 * The sets a garbage-collect scenario (src/gc/scenarios.ts) would mark, delete and break, computed
 * over the derived `held` table in temporary tables (which a read-only connection may create).
 */
import type { ReadableDB } from './open.js';
import type {
  GcBadLinkRow,
  GcBlob,
  GcBrokenTag,
  GcLayerLink,
  GcList,
  GcManifest,
  GcManifestRow,
  GcMarkRule,
  GcRepositoryRow,
  GcSets,
} from './gc-rows.js';
import type { CatalogEntry } from '../layout/catalog.js';
import { GC_MEDIA_TYPES } from '../layout/manifest.js';

/** held rows this scenario marks, as a predicate on `x` joined to its repository `rx`. */
function marks(s: GcMarkRule): string {
  return `x.holders > 0 AND rx.${s.marker} = 1${s.markFlag ? ` AND x.${s.markFlag} = 1` : ''}`;
}

/** gc_marks column saying whether a digest is marked in this scenario. */
const markColumn = (s: GcMarkRule): string => `m${s.id.replace('-', '_')}`;

/** Every temporary table of a previous computation on this connection (the scenarios' lists included). */
function dropGcTables(db: ReadableDB): void {
  const names = db
    .prepare(`SELECT name FROM temp.sqlite_schema WHERE type = 'table' AND name LIKE 'gc\\_%' ESCAPE '\\'`)
    .pluck()
    .all() as string[];
  for (const t of names) db.exec(`DROP TABLE IF EXISTS temp.${t}`);
}

/**
 * Computes the scenarios. `positions` maps repository name → position in the 3.x catalog walk
 * (3.x layer links: a link survives only if its repository or an earlier one marked the blob).
 * The lists stay in temporary tables of `db` and are read from them each time they are iterated
 * (GcList): read them before the connection closes.
 */
export function gcSets(
  db: ReadableDB,
  scanId: number,
  scenarios: readonly GcMarkRule[],
  positions: ReadonlyMap<string, number>,
): GcSets[] {
  const p = { scan: scanId };
  dropGcTables(db);
  // Every held digest with, per scenario, whether some enumerated repository marks it: one pass
  // (a GROUP BY over every held row). Only worth it when a scenario marks by a flag of the held
  // row: without one, each lookup is answered from held_by_digest and the repository alone.
  const table = scenarios.some((s) => s.markFlag !== null);
  if (table) {
    db.exec(
      `CREATE TEMP TABLE gc_marks (digest TEXT PRIMARY KEY, ${scenarios.map((s) => `${markColumn(s)} INTEGER NOT NULL`).join(', ')}) WITHOUT ROWID`,
    );
    db.prepare(
      `INSERT INTO gc_marks SELECT x.digest, ${scenarios.map((s) => `max(${marks(s)})`).join(', ')}
       FROM repositories rx JOIN held x ON x.repo_id = rx.id WHERE rx.scan_id = :scan AND x.holders > 0 GROUP BY x.digest`,
    ).run(p);
  }
  if (scenarios.some((s) => s.version === 3)) {
    db.exec(`CREATE TEMP TABLE gc_pos (repo_id INTEGER PRIMARY KEY, pos INTEGER NOT NULL)`);
    const ins = db.prepare(
      `INSERT INTO gc_pos SELECT id, :pos FROM repositories WHERE scan_id = :scan AND name = :name AND has_manifests = 1`,
    );
    for (const [name, pos] of positions) ins.run({ ...p, name, pos });
  }
  return scenarios.map((s, i) => scenario(db, p, s, table, i));
}

/** A list read from the index each time it is iterated, its count and bytes counted once. */
function indexList<T>(
  db: ReadableDB,
  from: string,
  select: string,
  order: string,
  row: (r: unknown[]) => T,
): GcList<T> {
  const { count, bytes } = db.prepare(`SELECT count(*) AS count, coalesce(sum(size), 0) AS bytes ${from}`).get() as {
    count: number;
    bytes: number;
  };
  return {
    count,
    bytes,
    *[Symbol.iterator]() {
      for (const r of db.prepare(`${select} ${from} ORDER BY ${order}`).raw().iterate() as Iterable<unknown[]>)
        yield row(r);
    },
  };
}

const repositoryItem = ([repository, digest, size]: unknown[]): GcManifest & GcLayerLink =>
  ({ repository, digest, size }) as GcManifest & GcLayerLink;

function scenario(db: ReadableDB, p: { scan: number }, s: GcMarkRule, table: boolean, n: number): GcSets {
  const marked = (digest: string): string =>
    table
      ? `EXISTS (SELECT 1 FROM gc_marks k WHERE k.digest = ${digest} AND k.${markColumn(s)} = 1)`
      : `EXISTS (SELECT 1 FROM held x INDEXED BY held_by_digest JOIN repositories rx ON rx.id = x.repo_id
         WHERE x.scan_id = :scan AND x.digest = ${digest} AND ${marks(s)})`;
  // This scenario's lists, kept until the connection closes; gc_minpos and gc_lost are its working tables.
  const sweep = `gc_sweep_${n}`;
  const deleted = `gc_deleted_${n}`;
  const links = `gc_links_${n}`;
  for (const t of ['gc_minpos', 'gc_lost']) db.exec(`DROP TABLE IF EXISTS temp.${t}`);
  db.exec(`CREATE TEMP TABLE ${sweep} (digest TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID`);
  db.prepare(
    `INSERT INTO ${sweep} SELECT b.digest, b.size FROM blobs b WHERE b.scan_id = :scan AND NOT ${marked('b.digest')}`,
  ).run(p);

  db.exec(
    `CREATE TEMP TABLE ${deleted} (repo_id INTEGER NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (repo_id, digest)) WITHOUT ROWID`,
  );
  if (s.deleteUntagged) {
    // 2.x deletes every untagged revision it enumerates; 3.x skips repositories without a tags
    // directory and keeps any manifest something marked (unmarkReferencedManifest).
    const v3 = s.version === 3 ? `AND r.has_tags_dir IS NOT 0 AND NOT ${marked('h.digest')}` : '';
    db.prepare(
      `INSERT INTO ${deleted} SELECT h.repo_id, h.digest, h.size FROM repositories r JOIN held h ON h.repo_id = r.id
       WHERE r.scan_id = :scan AND r.${s.marker} = 1 AND h.revision = 1 AND h.current = 0 ${v3}`,
    ).run(p);
  }

  // In the order they are listed (by repository, then digest): the table's rowid order.
  db.exec(`CREATE TEMP TABLE ${links} (repository TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL)`);
  if (s.version === 3) {
    db.exec(`CREATE TEMP TABLE gc_minpos (digest TEXT PRIMARY KEY, pos INTEGER NOT NULL) WITHOUT ROWID`);
    db.prepare(
      `INSERT INTO gc_minpos SELECT x.digest, min(q.pos) FROM gc_pos q JOIN held x ON x.repo_id = q.repo_id
       JOIN repositories rx ON rx.id = x.repo_id WHERE ${marks(s)} GROUP BY x.digest`,
    ).run();
    db.exec(
      `INSERT INTO ${links}
       SELECT r.name AS repository, h.digest, h.size FROM gc_pos q
       JOIN repositories r ON r.id = q.repo_id JOIN held h ON h.repo_id = q.repo_id
       WHERE h.linked = 1 AND h.size IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM gc_minpos m WHERE m.digest = h.digest AND m.pos <= q.pos)
       ORDER BY r.name, h.digest`,
    );
  }

  // What tags lose: closure manifests deleted, closure blobs swept.
  db.exec(`CREATE TEMP TABLE gc_lost (repo_id INTEGER NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, deleted INTEGER NOT NULL,
    PRIMARY KEY (repo_id, digest)) WITHOUT ROWID`);
  db.prepare(
    `INSERT OR IGNORE INTO gc_lost
     SELECT h.repo_id, h.digest, h.size, 0 FROM ${sweep} w CROSS JOIN held h ON h.scan_id = :scan AND h.digest = w.digest
     WHERE h.live = 1 AND h.holders > 0`,
  ).run(p);
  db.exec(`INSERT INTO gc_lost SELECT d.repo_id, d.digest, 0, 1 FROM ${deleted} d JOIN held h ON h.repo_id = d.repo_id AND h.digest = d.digest
           WHERE h.live = 1 ON CONFLICT (repo_id, digest) DO UPDATE SET deleted = 1`);
  const broken = db
    .prepare(
      `WITH RECURSIVE
       c (repo_id, tag, manifest) AS (
         SELECT t.repo_id, t.tag, t.digest FROM (SELECT DISTINCT repo_id FROM gc_lost) a
         JOIN links t ON t.repo_id = a.repo_id AND t.kind = 'tag-current'
         JOIN held v ON v.repo_id = t.repo_id AND v.digest = t.digest AND v.revision = 1
         UNION
         SELECT c.repo_id, c.tag, m.ref_digest FROM c
         CROSS JOIN manifest_refs m INDEXED BY refs_by_manifest ON m.scan_id = :scan AND m.manifest_digest = c.manifest AND m.role = 'child'
         JOIN held v ON v.repo_id = c.repo_id AND v.digest = m.ref_digest AND v.revision = 1
       ),
       hit (repo_id, tag, digest) AS (
         SELECT c.repo_id, c.tag, c.manifest FROM c JOIN gc_lost l ON l.repo_id = c.repo_id AND l.digest = c.manifest
         UNION
         SELECT c.repo_id, c.tag, m.ref_digest FROM c
         CROSS JOIN manifest_refs m INDEXED BY refs_by_manifest ON m.scan_id = :scan AND m.manifest_digest = c.manifest AND m.role <> 'subject'
         JOIN gc_lost l ON l.repo_id = c.repo_id AND l.digest = m.ref_digest
       )
       SELECT r.name AS repository, hit.tag, t.digest,
         group_concat(CASE WHEN l.deleted = 1 THEN l.digest END) AS deletedManifests,
         sum(l.deleted = 0) AS sweptBlobs, sum(l.size) AS bytes
       FROM hit JOIN gc_lost l ON l.repo_id = hit.repo_id AND l.digest = hit.digest
       JOIN repositories r ON r.id = hit.repo_id
       JOIN links t ON t.repo_id = hit.repo_id AND t.kind = 'tag-current' AND t.tag = hit.tag
       GROUP BY hit.repo_id, hit.tag
       ORDER BY r.name, hit.tag`,
    )
    .all(p) as Array<Omit<GcBrokenTag, 'deletedManifests'> & { deletedManifests: string | null }>;

  return {
    blobs: indexList(
      db,
      `FROM ${sweep}`,
      'SELECT digest, size',
      'digest',
      ([digest, size]) => ({ digest, size }) as GcBlob,
    ),
    manifests: indexList(
      db,
      `FROM ${deleted} d JOIN repositories r ON r.id = d.repo_id`,
      'SELECT r.name, d.digest, d.size',
      'r.name, d.digest',
      repositoryItem,
    ),
    layerLinks: indexList(db, `FROM ${links}`, 'SELECT repository, digest, size', 'rowid', repositoryItem),
    brokenTags: broken.map((b) => ({
      ...b,
      deletedManifests: b.deletedManifests ? b.deletedManifests.split(',').sort() : [],
    })),
  };
}

/** Repositories with what the scenarios need to know about them. */
export function gcRepositories(db: ReadableDB, scanId: number): GcRepositoryRow[] {
  const rows = db
    .prepare(
      `SELECT r.name, r.name_problem AS nameProblem, r.has_layers AS hasLayers, r.has_manifests AS hasManifests,
         r.has_tags_dir AS hasTagsDir, r.problem,
         (SELECT count(*) FROM held h WHERE h.repo_id = r.id AND h.revision = 1) AS revisions,
         (SELECT count(*) FROM held h WHERE h.repo_id = r.id AND h.revision = 1 AND h.current = 0) AS untagged
       FROM repositories r WHERE r.scan_id = :scan ORDER BY r.name`,
    )
    .all({ scan: scanId }) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    ...(r as unknown as GcRepositoryRow),
    hasLayers: r.hasLayers === 1,
    hasManifests: r.hasManifests === 1,
    hasTagsDir: r.hasTagsDir === null ? null : r.hasTagsDir === 1,
  }));
}

/** Link files whose content does not parse. */
export function gcBadLinks(db: ReadableDB, scanId: number): GcBadLinkRow[] {
  return db
    .prepare(
      `SELECT r.name AS repository, l.kind, l.tag, l.path_digest AS pathDigest, l.problem
       FROM repositories r
       JOIN links l INDEXED BY links_bad ON l.repo_id = r.id -- its condition, repeated below, makes it usable
       WHERE r.scan_id = :scan AND l.problem IS NOT NULL AND l.problem <> 'not-a-file'
         AND (l.problem IS NOT NULL OR (l.path_digest IS NOT NULL AND l.digest <> l.path_digest))
       ORDER BY r.name, l.kind, l.tag, l.path_digest`,
    )
    .all({ scan: scanId }) as GcBadLinkRow[];
}

/**
 * Present revisions whose manifest the registry may fail to unmarshal: read problems, schema1,
 * media types outside the four the manifest store knows.
 */
export function gcManifests(db: ReadableDB, scanId: number): GcManifestRow[] {
  const known = GC_MEDIA_TYPES.map((t) => `'${t}'`).join(', ');
  const rows = db
    .prepare(
      `SELECT r.name AS repository, h.digest, m.problem, m.media_type AS mediaType, m.schema_version AS schemaVersion,
         h.current, h.tagged, h.live
       FROM manifests m
       CROSS JOIN held h ON h.scan_id = :scan AND h.digest = m.digest AND h.revision = 1
       JOIN repositories r ON r.id = h.repo_id
       WHERE m.scan_id = :scan
         AND ((m.problem IS NOT NULL AND m.problem <> 'missing') OR m.schema_version = 1
              OR (m.media_type IS NOT NULL AND m.media_type <> '' AND m.media_type NOT IN (${known})))
       ORDER BY r.name, h.digest`,
    )
    .all({ scan: scanId }) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    ...(r as unknown as GcManifestRow),
    current: r.current === 1,
    tagged: r.tagged === 1,
    live: r.live === 1,
  }));
}

/** Every repository directory with its catalog markers, as the catalog walkers see them. */
export function catalogEntries(db: ReadableDB, scanId: number): CatalogEntry[] {
  const rows = db
    .prepare(
      `SELECT name, has_layers AS hasLayers, has_manifests AS hasManifests FROM repositories WHERE scan_id = :scan ORDER BY name`,
    )
    .all({ scan: scanId }) as Array<{ name: string; hasLayers: number; hasManifests: number }>;
  return rows.map((r) => ({ name: r.name, hasLayers: r.hasLayers === 1, hasManifests: r.hasManifests === 1 }));
}
