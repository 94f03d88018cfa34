/**
 * Derives the manifest graph of one scan into `held` and `tag_usage` (migration 0005), inside the
 * scan's transaction, after its rows and indexes are in place. Everything is set-based SQL over
 * temporary tables, each step one pass with index lookups, so the cost grows linearly with the
 * number of references (about 2 s per million on a small VM) and is paid once per scan instead
 * of on every report.
 */
import type { DB } from './open.js';
import { restoreIndexes, suspendIndexes } from './scans.js';

const GRAPH_STEPS = [
  // Revisions whose manifest blob exists, once per repository and digest.
  `CREATE TEMP TABLE g_rev (repo_id INTEGER NOT NULL, digest TEXT NOT NULL, current INTEGER NOT NULL DEFAULT 0,
     live INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (repo_id, digest)) WITHOUT ROWID`,
  `INSERT OR IGNORE INTO g_rev (repo_id, digest)
   SELECT l.repo_id, l.digest FROM repositories r JOIN links l ON l.repo_id = r.id AND l.kind = 'revision'
   WHERE r.scan_id = :scan AND l.digest IS NOT NULL
     AND EXISTS (SELECT 1 FROM blobs b WHERE b.scan_id = :scan AND b.digest = l.digest)`,

  // Tags whose current manifest is such a revision.
  `CREATE TEMP TABLE g_tag (repo_id INTEGER NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (repo_id, tag)) WITHOUT ROWID`,
  `INSERT OR IGNORE INTO g_tag
   SELECT t.repo_id, t.tag, t.digest FROM repositories r
   JOIN links t ON t.repo_id = r.id AND t.kind = 'tag-current'
   JOIN g_rev v ON v.repo_id = t.repo_id AND v.digest = t.digest
   WHERE r.scan_id = :scan`,
  `CREATE INDEX temp.g_tag_by_digest ON g_tag (repo_id, digest)`,

  // Tag closures: current manifest, then index/list children that are revisions of the same repository.
  `CREATE TEMP TABLE g_closure (repo_id INTEGER NOT NULL, tag TEXT NOT NULL, manifest TEXT NOT NULL,
     PRIMARY KEY (repo_id, tag, manifest)) WITHOUT ROWID`,
  `INSERT OR IGNORE INTO g_closure
   WITH RECURSIVE c (repo_id, tag, manifest) AS (
     SELECT repo_id, tag, digest FROM g_tag
     UNION
     SELECT c.repo_id, c.tag, m.ref_digest FROM c
     CROSS JOIN manifest_refs m ON m.scan_id = :scan AND m.manifest_digest = c.manifest AND m.role = 'child'
     JOIN g_rev v ON v.repo_id = c.repo_id AND v.digest = m.ref_digest
   )
   SELECT repo_id, tag, manifest FROM c`,
  `CREATE INDEX temp.g_closure_by_manifest ON g_closure (repo_id, manifest)`,
  `UPDATE g_rev SET current = 1 WHERE EXISTS (SELECT 1 FROM g_tag t WHERE t.repo_id = g_rev.repo_id AND t.digest = g_rev.digest)`,
  `UPDATE g_rev SET live = 1 WHERE EXISTS (SELECT 1 FROM g_closure c WHERE c.repo_id = g_rev.repo_id AND c.manifest = g_rev.digest)`,

  // What each revision holds: itself and its non-subject references, with the revision's flags; once per
  // (revision, digest) whatever the roles (the flags of repeated references combine), so that a
  // digest's holders are a count, and keyed so that the per-tag step reads a revision's rows in place.
  `CREATE TEMP TABLE g_hold (repo_id INTEGER NOT NULL, via TEXT NOT NULL, digest TEXT NOT NULL, revision INTEGER NOT NULL,
     current INTEGER NOT NULL, tagged INTEGER NOT NULL, live INTEGER NOT NULL, needs_link INTEGER NOT NULL, child INTEGER NOT NULL,
     PRIMARY KEY (repo_id, via, digest)) WITHOUT ROWID`,
  `INSERT INTO g_hold SELECT repo_id, digest, digest, 1, current, current, live, 0, 0 FROM g_rev`,
  `INSERT INTO g_hold
   SELECT v.repo_id, v.digest, m.ref_digest, 0, 0, v.current, v.live,
     m.role IN ('config', 'layer', 'blobsum') AND m.is_foreign = 0, m.role = 'child'
   FROM g_rev v
   CROSS JOIN manifest_refs m ON m.scan_id = :scan AND m.manifest_digest = v.digest AND m.role <> 'subject'
   WHERE true
   ON CONFLICT DO UPDATE SET revision = max(revision, excluded.revision), current = max(current, excluded.current),
     needs_link = max(needs_link, excluded.needs_link), child = max(child, excluded.child)`,

  `CREATE TEMP TABLE g_held (repo_id INTEGER NOT NULL, digest TEXT NOT NULL, revision INTEGER NOT NULL, current INTEGER NOT NULL,
     tagged INTEGER NOT NULL, live INTEGER NOT NULL, needs_link INTEGER NOT NULL, child INTEGER NOT NULL, holders INTEGER NOT NULL,
     PRIMARY KEY (repo_id, digest)) WITHOUT ROWID`,
  `INSERT INTO g_held
   SELECT repo_id, digest, max(revision), max(current), max(tagged), max(live), max(needs_link), max(child), count(*)
   FROM g_hold GROUP BY repo_id, digest`,
  // Digests a repository only links in _layers (content of the link), held by none of its revisions.
  `INSERT OR IGNORE INTO g_held
   SELECT l.repo_id, l.digest, 0, 0, 0, 0, 0, 0, 0 FROM repositories r JOIN links l ON l.repo_id = r.id AND l.kind = 'layer'
   WHERE r.scan_id = :scan AND l.digest IS NOT NULL`,

  // Per digest: how many repositories hold it and its size (blob lookups in digest order, sequential).
  `CREATE TEMP TABLE g_digest (digest TEXT PRIMARY KEY, repos INTEGER NOT NULL, size INTEGER) WITHOUT ROWID`,
  `INSERT INTO g_digest
   SELECT g.digest, g.repos, (SELECT b.size FROM blobs b WHERE b.scan_id = :scan AND b.digest = g.digest)
   FROM (SELECT digest, sum(holders > 0) AS repos FROM g_held GROUP BY digest) g`,
];

/** `held` rewritten whole; deriveGraph runs these without its secondary indexes. */
const HELD_STEPS = [
  `DELETE FROM held WHERE scan_id = :scan`,
  `INSERT INTO held (scan_id, repo_id, digest, size, revision, current, tagged, live, needs_link, child, linked, holders, repos)
   SELECT :scan, h.repo_id, h.digest, n.size, h.revision, h.current, h.tagged, h.live, h.needs_link, h.child,
     EXISTS (SELECT 1 FROM links k WHERE k.repo_id = h.repo_id AND k.kind = 'layer' AND k.path_digest = h.digest AND k.digest IS NOT NULL),
     h.holders, n.repos
   FROM g_held h JOIN g_digest n ON n.digest = h.digest
   ORDER BY h.repo_id, h.digest`,
];

/** Per-tag usage, which reads the new `held` rows. */
const TAG_STEPS = [
  // Manifests in exactly one tag's closure: deleting that tag (and what only it keeps) deletes them.
  `CREATE TEMP TABLE g_only (repo_id INTEGER NOT NULL, manifest TEXT NOT NULL, PRIMARY KEY (repo_id, manifest)) WITHOUT ROWID`,
  `INSERT INTO g_only SELECT repo_id, manifest FROM g_closure GROUP BY repo_id, manifest HAVING count(*) = 1`,

  // Per tag: the blobs its closure holds, and how many manifests only this tag keeps hold each (a
  // closure manifest is one g_hold row per digest, so the rows of a group are distinct manifests).
  `CREATE TEMP TABLE g_tag_blob (repo_id INTEGER NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, only_holders INTEGER NOT NULL,
     PRIMARY KEY (repo_id, tag, digest)) WITHOUT ROWID`,
  `INSERT INTO g_tag_blob
   SELECT c.repo_id, c.tag, h.digest,
     sum(EXISTS (SELECT 1 FROM g_only o WHERE o.repo_id = c.repo_id AND o.manifest = c.manifest))
   FROM g_closure c
   JOIN g_hold h ON h.repo_id = c.repo_id AND h.via = c.manifest
   GROUP BY c.repo_id, c.tag, h.digest`,
  `DELETE FROM tag_usage WHERE repo_id IN (SELECT id FROM repositories WHERE scan_id = :scan)`,
  `INSERT INTO tag_usage (repo_id, tag, digest, manifests, blobs, bytes, exclusive_bytes, freed_bytes)
   SELECT t.repo_id, t.tag, g.digest,
     (SELECT count(*) FROM g_closure c WHERE c.repo_id = t.repo_id AND c.tag = t.tag),
     count(h.size), coalesce(sum(h.size), 0),
     coalesce(sum(CASE WHEN h.repos = 1 THEN h.size END), 0),
     coalesce(sum(CASE WHEN h.repos = 1 AND t.only_holders = h.holders THEN h.size END), 0)
   FROM g_tag_blob t
   JOIN held h ON h.repo_id = t.repo_id AND h.digest = t.digest
   JOIN g_tag g ON g.repo_id = t.repo_id AND g.tag = t.tag
   GROUP BY t.repo_id, t.tag`,
];

/**
 * The report's per-row checks (migration 0012), with the same meaning as when the report made them:
 * blobs no repository holds, revision links without their blob, tag directories without a live
 * current link. Run before the temporary tables go: g_digest and g_rev answer two of them.
 */
const CHECK_STEPS = [
  `DELETE FROM unheld_blobs WHERE scan_id = :scan`,
  // g_digest.repos counts the repositories holding a digest (held.holders > 0).
  `INSERT INTO unheld_blobs (scan_id, digest, size, linked_by)
   SELECT :scan, b.digest, b.size,
     (SELECT count(DISTINCT l.repo_id) FROM links l JOIN repositories r ON r.id = l.repo_id
      WHERE l.digest = b.digest AND l.kind = 'layer' AND r.scan_id = :scan)
   FROM blobs b
   WHERE b.scan_id = :scan AND NOT EXISTS (SELECT 1 FROM g_digest g WHERE g.digest = b.digest AND g.repos > 0)`,
  `DELETE FROM blobless_revisions WHERE repo_id IN (SELECT id FROM repositories WHERE scan_id = :scan)`,
  // g_rev holds (repository, content digest) of every revision link whose blob exists.
  `INSERT OR IGNORE INTO blobless_revisions (repo_id, digest)
   SELECT l.repo_id, l.digest FROM repositories r
   JOIN links l INDEXED BY links_by_repo_digest ON l.repo_id = r.id AND l.kind = 'revision' AND l.digest IS NOT NULL
   WHERE r.scan_id = :scan AND NOT EXISTS (SELECT 1 FROM g_rev v WHERE v.repo_id = l.repo_id AND v.digest = l.digest)`,
  `DELETE FROM dead_tags WHERE repo_id IN (SELECT id FROM repositories WHERE scan_id = :scan)`,
  `INSERT OR IGNORE INTO dead_tags (repo_id, tag)
   SELECT t.repo_id, t.name FROM repositories r
   JOIN tags t ON t.repo_id = r.id
   LEFT JOIN links l ON l.repo_id = r.id AND l.kind = 'tag-current' AND l.tag = t.name
   WHERE r.scan_id = :scan AND NOT (
     EXISTS (SELECT 1 FROM links v WHERE v.repo_id = r.id AND v.kind = 'revision' AND v.path_digest = l.digest AND v.digest IS NOT NULL)
     AND EXISTS (SELECT 1 FROM blobs b WHERE b.scan_id = r.scan_id AND b.digest = l.digest))`,
];

const TEMP_TABLES = ['g_rev', 'g_tag', 'g_closure', 'g_only', 'g_hold', 'g_held', 'g_digest', 'g_tag_blob'];

/**
 * Recomputes `held`, `tag_usage` and the report's checks for one scan. Call inside the scan's transaction. The secondary
 * indexes of `held` (whatever the migrations defined) are dropped before its rows are rewritten
 * and built again after: one sort each instead of a B-tree update per row.
 */
export function deriveGraph(db: DB, scanId: number, onStep?: StepListener): void {
  const run = runSteps(db, scanId, onStep);
  dropTemp(db);
  try {
    run(GRAPH_STEPS);
    const heldIndexes = suspendIndexes(db, ['held']);
    run(HELD_STEPS);
    const started = performance.now();
    restoreIndexes(db, heldIndexes);
    onStep?.('restore held indexes', performance.now() - started);
    run(TAG_STEPS);
    run(CHECK_STEPS);
    db.prepare(`UPDATE scans SET derived = 1 WHERE id = ?`).run(scanId);
  } finally {
    // On failure the caller rolls back, which also brings back the suspended indexes.
    dropTemp(db);
  }
}

/** Called with the start of each statement and its time, to see where a derivation spends it. */
export type StepListener = (sql: string, ms: number) => void;

function runSteps(db: DB, scanId: number, onStep?: StepListener): (steps: readonly string[]) => void {
  return (steps) => {
    for (const sql of steps) {
      const started = performance.now();
      const stmt = db.prepare(sql);
      if (sql.includes(':scan')) stmt.run({ scan: scanId });
      else stmt.run();
      onStep?.(sql.replace(/\s+/g, ' ').slice(0, 90), performance.now() - started);
    }
  };
}

function dropTemp(db: DB): void {
  for (const t of TEMP_TABLES) db.exec(`DROP TABLE IF EXISTS temp.${t}`);
}

/** Repositories and blobs of a scan, as one string: an incremental rescan that changes it must derive again. */
export function graphInputCounts(db: DB, scanId: number): string {
  const row = db
    .prepare(
      `SELECT (SELECT count(*) FROM repositories WHERE scan_id = :scan) AS repos, (SELECT count(*) FROM blobs WHERE scan_id = :scan) AS blobs`,
    )
    .get({ scan: scanId }) as { repos: number; blobs: number };
  return `${row.repos}/${row.blobs}`;
}
