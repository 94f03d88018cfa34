/**
 * Queries of `regaudit verify`: which blobs are in scope and due for hashing, the results table
 * (migration 0009), and what the findings need (descriptor sizes, referencing tags). Scope and due
 * sets live in temporary tables (on disk: temp_store = FILE), so memory stays flat with the store.
 */
import { createHash } from 'node:crypto';
import type { DB } from './open.js';
import type { HashResult, HashStatus } from '../verify/protocol.js';

export interface VerifyScopeOptions {
  scanId: number;
  root: string;
  /** Only blobs the repositories this accepts reference (the caller's --repository/--exclude matcher). */
  repository?: (name: string) => boolean;
  /** Keep about this percentage of the scope, chosen by a hash of (seed, digest). */
  sample?: { percent: number; seed: number };
}

export interface DueOptions {
  all: boolean;
  /** Re-hash results verified before this time (ms since the epoch). */
  verifiedBefore?: number;
}

export interface BlobRow {
  digest: string;
  size: number;
  mtimeMs: number;
}

/** Whether `digest` falls in a `percent` sample for `seed`: stable across runs and machines. */
export function inSample(digest: string, percent: number, seed: number): boolean {
  const h = createHash('sha256').update(`${seed}:${digest}`).digest();
  return h.readUInt32BE(0) / 0x1_0000_0000 < percent / 100;
}

/** Fills temp.verify_scope with the blobs of the scan the options select; returns their count and bytes. */
export function buildScope(db: DB, o: VerifyScopeOptions): { blobs: number; bytes: number; total: number } {
  db.function('regaudit_in_sample', { deterministic: true }, (d: unknown) =>
    o.sample && !inSample(String(d), o.sample.percent, o.sample.seed) ? 0 : 1,
  );
  db.exec(`DROP TABLE IF EXISTS temp.verify_scope`);
  // unstatable: restatScope found no regular file (it keeps the scan's size; the hasher says what is wrong).
  db.exec(
    `CREATE TEMP TABLE verify_scope (digest TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ms INTEGER NOT NULL, unstatable INTEGER NOT NULL DEFAULT 0)`,
  );
  if (o.repository) selectRepositories(db, o.scanId, o.repository);
  db.prepare(
    `INSERT INTO temp.verify_scope (digest, size, mtime_ms)
     SELECT b.digest, b.size, b.mtime_ms FROM blobs b
     WHERE b.scan_id = ? ${o.repository ? `AND b.digest IN (${HELD_BY_SELECTED})` : ''}
       ${o.sample ? 'AND regaudit_in_sample(b.digest) = 1' : ''}`,
  ).run(o.scanId, ...(o.repository ? [o.scanId] : []));
  const scope = db
    .prepare(`SELECT count(*) AS blobs, coalesce(sum(size), 0) AS bytes FROM temp.verify_scope`)
    .get() as {
    blobs: number;
    bytes: number;
  };
  const total = db.prepare(`SELECT count(*) FROM blobs WHERE scan_id = ?`).pluck().get(o.scanId) as number;
  return { ...scope, total };
}

/**
 * Fills temp.verify_repos with the ids of the scan's repositories `accept` keeps. The matcher runs
 * in JavaScript once per repository (the same one report and prune use), never once per blob.
 */
function selectRepositories(db: DB, scanId: number, accept: (name: string) => boolean): void {
  db.exec(`DROP TABLE IF EXISTS temp.verify_repos`);
  db.exec(`CREATE TEMP TABLE verify_repos (id INTEGER PRIMARY KEY)`);
  const insert = db.prepare(`INSERT INTO temp.verify_repos (id) VALUES (?)`);
  const rows = db.prepare(`SELECT id, name FROM repositories WHERE scan_id = ?`).all(scanId) as Array<{
    id: number;
    name: string;
  }>;
  db.transaction(() => {
    for (const r of rows) if (accept(r.name)) insert.run(r.id);
  })();
}

const HELD_BY_SELECTED = `SELECT h.digest FROM held h WHERE h.scan_id = ? AND h.repo_id IN (SELECT id FROM temp.verify_repos)`;

/** Whether `digest` is held by a repository buildScope selected (for blobs the scan could not list). */
export function referencedBySelected(db: DB, scanId: number, digest: string): boolean {
  return db.prepare(`SELECT 1 FROM (${HELD_BY_SELECTED}) WHERE digest = ? LIMIT 1`).get(scanId, digest) !== undefined;
}

/**
 * Replaces the scope's size and mtime (the scan's) with what `statOf` finds now, a page of digests at
 * a time (flat memory); a blob it cannot stat keeps the scan's and is due, so the hasher says why.
 */
export function restatScope(
  db: DB,
  statOf: (digest: string) => { size: number; mtimeMs: number } | undefined,
  page = 1024,
): void {
  const next = db.prepare(`SELECT digest FROM temp.verify_scope WHERE digest > ? ORDER BY digest LIMIT ?`).pluck();
  const update = db.prepare(`UPDATE temp.verify_scope SET size = ?, mtime_ms = ? WHERE digest = ?`);
  const unstatable = db.prepare(`UPDATE temp.verify_scope SET unstatable = 1 WHERE digest = ?`);
  const apply = db.transaction((digests: string[]) => {
    for (const d of digests) {
      const st = statOf(d);
      if (st) update.run(st.size, st.mtimeMs, d);
      else unstatable.run(d);
    }
  });
  for (let after = ''; ;) {
    const digests = next.all(after, page) as string[];
    if (digests.length === 0) return;
    apply(digests);
    after = digests[digests.length - 1]!;
  }
}

/**
 * Fills temp.verify_due with the scope's blobs to hash: never verified, changed in size or mtime
 * since (or not found by restatScope), not ok last time (an I/O error may pass), verified before `verifiedBefore`, or all.
 */
export function buildDue(db: DB, root: string, o: DueOptions): { blobs: number; bytes: number } {
  db.exec(`DROP TABLE IF EXISTS temp.verify_due`);
  db.exec(`CREATE TEMP TABLE verify_due (digest TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms INTEGER NOT NULL)`);
  db.prepare(
    `INSERT INTO temp.verify_due (digest, size, mtime_ms)
     SELECT s.digest, s.size, s.mtime_ms FROM temp.verify_scope s
     LEFT JOIN blob_verifications v ON v.root = @root AND v.digest = s.digest
     WHERE @all = 1 OR s.unstatable = 1 OR v.digest IS NULL OR v.size <> s.size OR v.mtime_ms <> s.mtime_ms OR v.status <> 'ok'
        OR v.verified_ms < @before`,
  ).run({ root, all: o.all ? 1 : 0, before: o.verifiedBefore ?? -1 });
  // Largest first: the long hashes start early and the small ones fill the gaps at the end.
  db.exec(`CREATE INDEX temp.verify_due_order ON verify_due (size DESC, digest)`);
  return db.prepare(`SELECT count(*) AS blobs, coalesce(sum(size), 0) AS bytes FROM temp.verify_due`).get() as {
    blobs: number;
    bytes: number;
  };
}

/** Reads temp.verify_due in pages (largest first), so no statement stays open while results are written. */
export function dueReader(db: DB, page = 512): () => BlobRow | undefined {
  const first = db.prepare(
    `SELECT digest, size, mtime_ms AS mtimeMs FROM temp.verify_due ORDER BY size DESC, digest LIMIT ?`,
  );
  const after = db.prepare(
    `SELECT digest, size, mtime_ms AS mtimeMs FROM temp.verify_due
     WHERE size < @size OR (size = @size AND digest > @digest) ORDER BY size DESC, digest LIMIT @page`,
  );
  let rows: BlobRow[] = first.all(page) as BlobRow[];
  let i = 0;
  return () => {
    if (i === rows.length && rows.length === page) {
      const last = rows[rows.length - 1]!;
      rows = after.all({ size: last.size, digest: last.digest, page }) as BlobRow[];
      i = 0;
    }
    return rows[i++];
  };
}

export interface StoredResult extends Omit<HashResult, 'id'> {
  digest: string;
  verifiedMs: number;
}

/** Writes a batch of results in one transaction (a Ctrl-C keeps every batch written before it). */
export function saveResults(db: DB, root: string, results: readonly StoredResult[]): void {
  const upsert = db.prepare(
    `INSERT INTO blob_verifications (root, digest, size, mtime_ms, verified_ms, status, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (root, digest) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
       verified_ms = excluded.verified_ms, status = excluded.status, detail = excluded.detail`,
  );
  db.transaction(() => {
    for (const r of results) upsert.run(root, r.digest, r.size, r.mtimeMs, r.verifiedMs, r.status, r.detail ?? null);
  })();
}

export interface BadResult {
  digest: string;
  size: number;
  status: Exclude<HashStatus, 'ok'>;
  detail: string | null;
}

/** Stored results for blobs in scope that are not ok. */
export function badResults(db: DB, root: string): BadResult[] {
  return db
    .prepare(
      `SELECT v.digest, s.size, v.status, v.detail FROM temp.verify_scope s
       JOIN blob_verifications v ON v.root = ? AND v.digest = s.digest
       WHERE v.status <> 'ok' ORDER BY v.digest`,
    )
    .all(root) as BadResult[];
}

/** Counts of the stored results for the blobs in scope, by status (missing: never verified). */
export function resultCounts(db: DB, root: string): Record<HashStatus | 'unverified', number> {
  const rows = db
    .prepare(
      `SELECT coalesce(v.status, 'unverified') AS status, count(*) AS n FROM temp.verify_scope s
       LEFT JOIN blob_verifications v ON v.root = ? AND v.digest = s.digest GROUP BY 1`,
    )
    .all(root) as Array<{ status: HashStatus | 'unverified'; n: number }>;
  const out = { ok: 0, corrupt: 0, unreadable: 0, unverified: 0 };
  for (const r of rows) out[r.status] = r.n;
  return out;
}

export interface SizeMismatch {
  digest: string;
  size: number;
  /** "<manifest digest> <declared size>", one per manifest that declares another size. */
  declarations: Array<{ manifest: string; declared: number }>;
}

/** Blobs in scope whose size differs from what a manifest descriptor declares. */
export function sizeMismatches(db: DB, scanId: number): SizeMismatch[] {
  const rows = db
    .prepare(
      `SELECT s.digest, s.size, r.manifest_digest AS manifest, r.size AS declared
       FROM temp.verify_scope s JOIN manifest_refs r ON r.scan_id = ? AND r.ref_digest = s.digest
       WHERE r.role <> 'subject' AND r.size IS NOT NULL AND r.size <> s.size
       GROUP BY s.digest, r.manifest_digest, r.size ORDER BY s.digest, r.manifest_digest`,
    )
    .all(scanId) as Array<{ digest: string; size: number; manifest: string; declared: number }>;
  const out: SizeMismatch[] = [];
  for (const r of rows) {
    const last = out[out.length - 1];
    if (last?.digest === r.digest) last.declarations.push({ manifest: r.manifest, declared: r.declared });
    else out.push({ digest: r.digest, size: r.size, declarations: [{ manifest: r.manifest, declared: r.declared }] });
  }
  return out;
}

/** Paths where the scan found something other than a regular `data` file in a blob directory. */
export function unlistableBlobData(
  db: DB,
  scanId: number,
): Array<{ path: string; kind: string; detail: string | null }> {
  return db
    .prepare(
      `SELECT path, kind, detail FROM debris WHERE scan_id = ? AND path GLOB 'blobs/*/*/*/data' AND kind <> 'tmp-file' ORDER BY path`,
    )
    .all(scanId) as Array<{ path: string; kind: string; detail: string | null }>;
}

export interface BlobReferences {
  /** repository:tag of every tag whose manifest (or index) reaches the blob. */
  tags: string[];
  /** Repositories whose revisions hold or whose _layers link the blob. */
  repositories: string[];
}

/** Who pulls this blob: tags reaching it through their manifest and index, and the repositories holding it. */
export function blobReferences(db: DB, scanId: number, digest: string): BlobReferences {
  const tags = db
    .prepare(
      `WITH RECURSIVE up (m) AS (
         SELECT @digest
         UNION SELECT r.manifest_digest FROM manifest_refs r JOIN up ON r.ref_digest = up.m
         WHERE r.scan_id = @scan AND r.role <> 'subject')
       SELECT DISTINCT rp.name || ':' || l.tag FROM links l JOIN repositories rp ON rp.id = l.repo_id
       WHERE l.kind = 'tag-current' AND rp.scan_id = @scan AND l.digest IN (SELECT m FROM up)
       ORDER BY rp.name, l.tag`,
    )
    .pluck()
    .all({ scan: scanId, digest }) as string[];
  const repositories = db
    .prepare(
      `SELECT DISTINCT r.name FROM held h JOIN repositories r ON r.id = h.repo_id
       WHERE h.scan_id = ? AND h.digest = ? ORDER BY r.name`,
    )
    .pluck()
    .all(scanId, digest) as string[];
  return { tags, repositories };
}
