#!/usr/bin/env node
/**
 * What interning digests as integers would save a full scan (docs/benchmarks.md, "Interned digests,
 * measured on a prototype"): copies the rows of an existing index into a new file, once with the
 * digests as they are stored (text) and once replaced by integer ids handed out in row order (as a
 * scan would hand them out while inserting), then builds the same secondary indexes and runs the
 * derivation's own statements (read from src/index/derive.ts, digest columns declared INTEGER),
 * timing the CPU of each step. Both runs must end with the same `held`, `tag_usage` and report-check
 * rows (printed as checksums). A measurement, not the implementation: nothing in src/ uses it.
 *
 *   npx tsx scripts/intern-prototype.ts text|int SOURCE.db OUT.db
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

const [mode, source, out] = process.argv.slice(2);
if ((mode !== 'text' && mode !== 'int') || !source || !out) {
  process.stderr.write('usage: intern-prototype.ts text|int SOURCE.db OUT.db\n');
  process.exit(2);
}
const interned = mode === 'int';
for (const f of [out, `${out}-journal`]) fs.rmSync(f, { force: true });
const src = new Database(source, { readonly: true });
const db = new Database(out);
// As a full scan writes its new index file (src/index/rebuild.ts, src/index/open.ts).
db.pragma('page_size = 8192');
db.pragma('journal_mode = OFF');
db.pragma('synchronous = OFF');
db.pragma('temp_store = FILE');
db.pragma('cache_size = -16384');

/**
 * Digest columns become integers. With integer keys and no statistics, SQLite picks
 * links_by_repo_digest (a range on `digest IS NOT NULL`) for held's `linked` probe, 10x slower than
 * links_by_repo: an implementation would pin the index as the prototype does.
 */
const adapt = (sql: string): string =>
  interned
    ? sql
        .replace(/\b(\w*digest|via|manifest) TEXT/g, '$1 INTEGER')
        .replace('FROM links k WHERE', 'FROM links k INDEXED BY links_by_repo WHERE')
    : sql;

const TABLES = [
  'scans',
  'repositories',
  'tags',
  'links',
  'blobs',
  'manifests',
  'manifest_refs',
  'held',
  'tag_usage',
  'unheld_blobs',
  'blobless_revisions',
  'dead_tags',
];
const schemaOf = (name: string): string =>
  src.prepare(`SELECT sql FROM sqlite_master WHERE name = ?`).pluck().get(name) as string;
for (const t of TABLES) db.exec(adapt(schemaOf(t)));
if (interned) db.exec(`CREATE TABLE digests (id INTEGER PRIMARY KEY, digest TEXT NOT NULL)`);

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const steps: Array<{ group: string; name: string; ms: number }> = [];
const step = (group: string, name: string, fn: () => void): void => {
  const c = cpuMs();
  fn();
  steps.push({ group, name, ms: cpuMs() - c });
};

const ids = new Map<string, number>();
const idOf = (d: unknown): unknown => {
  if (typeof d !== 'string') return d;
  let v = ids.get(d);
  if (v === undefined) ids.set(d, (v = ids.size + 1));
  return v;
};

db.exec('BEGIN');
const copy = (table: string, digestColumns: string[]): void => {
  const columns = src
    .prepare(`SELECT * FROM ${table} LIMIT 1`)
    .columns()
    .map((c) => c.name);
  const insert = db.prepare(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
  );
  const rows = src.prepare(`SELECT * FROM ${table}`).raw().all() as unknown[][];
  if (interned) {
    const at = digestColumns.map((c) => columns.indexOf(c));
    step('intern', table, () => {
      for (const r of rows) for (const i of at) r[i] = idOf(r[i]);
    });
  }
  step('insert', `${table} (${rows.length})`, () => {
    for (const r of rows) insert.run(r);
  });
};
copy('scans', []);
copy('repositories', []);
copy('tags', []);
copy('links', ['path_digest', 'digest']);
copy('blobs', ['digest']);
copy('manifests', ['digest']);
copy('manifest_refs', ['manifest_digest', 'ref_digest']);
if (interned)
  step('insert', `digests (${ids.size})`, () => {
    const insert = db.prepare(`INSERT INTO digests VALUES (?, ?)`);
    for (const [d, v] of ids) insert.run(v, d);
  });

const indexes = src
  .prepare(
    `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('links', 'manifest_refs')`,
  )
  .all() as Array<{ name: string; sql: string }>;
for (const i of indexes) step('indexes', i.name, () => db.exec(i.sql));
if (interned)
  step('indexes', 'digests_by_text', () => db.exec(`CREATE UNIQUE INDEX digests_by_text ON digests (digest)`));
const heldIndexes = src
  .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = 'held'`)
  .all() as Array<{ name: string; sql: string }>;

// The derivation as deriveGraph runs it: held's secondary indexes dropped while it is rewritten.
const derive = fs.readFileSync(path.join(import.meta.dirname, '..', 'src', 'index', 'derive.ts'), 'utf8');
const statements = (name: string): string[] => {
  const body = new RegExp(`const ${name} = \\[([\\s\\S]*?)\\n\\];`).exec(derive)?.[1];
  if (body === undefined) throw new Error(`${name} not found in src/index/derive.ts`);
  return [...body.matchAll(/`([\s\S]*?)`/g)].map((m) => adapt(m[1]!));
};
const run = (name: string): void => {
  for (const sql of statements(name))
    step('derive', sql.replace(/\s+/g, ' ').slice(0, 70), () => {
      const s = db.prepare(sql);
      if (sql.includes(':scan')) s.run({ scan: 1 });
      else s.run();
    });
};
run('GRAPH_STEPS');
run('HELD_STEPS');
for (const i of heldIndexes) step('derive', `index ${i.name}`, () => db.exec(i.sql));
run('TAG_STEPS');
run('CHECK_STEPS');
step('commit', 'commit', () => db.exec('COMMIT'));

for (const s of steps) process.stdout.write(`${mode}\t${s.group}\t${(s.ms / 1000).toFixed(3)}\t${s.name}\n`);
const total = (g: string): string =>
  (steps.filter((s) => s.group === g).reduce((a, s) => a + s.ms, 0) / 1000).toFixed(2);
process.stdout.write(
  `${mode}\ttotal CPU s: insert ${total('insert')}, intern ${total('intern')}, indexes ${total('indexes')}, ` +
    `derive ${total('derive')}, commit ${total('commit')}; file ${(fs.statSync(out).size / 1e6).toFixed(0)} MB\n`,
);
const digestText = interned ? `(SELECT digest FROM digests WHERE id = h.digest)` : `h.digest`;
const check = db
  .prepare(
    `SELECT count(*) AS n, sum(h.size) AS bytes, sum(h.holders) AS holders, sum(h.live) AS live,
       sum(length(${digestText})) AS text FROM held h`,
  )
  .get();
const usage = db.prepare(`SELECT count(*) AS n, sum(bytes) AS bytes, sum(freed_bytes) AS freed FROM tag_usage`).get();
const counts = ['unheld_blobs', 'blobless_revisions', 'dead_tags'].map(
  (t) => db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number,
);
process.stdout.write(`${mode}\tcheck ${JSON.stringify({ held: check, usage, checks: counts })}\n`);
