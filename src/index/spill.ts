/**
 * A list of plan items too long to hold in memory, kept in a private temporary database (SQLite
 * creates its file in the temporary directory and deletes it on close) and read back in the order
 * it was added. A dry-run `gc` writes its totals before its items: keeping the items here costs one
 * insert each, where computing them again from the index costs a second pass over every candidate
 * row (about 4 s of the 10 s of `gc --delete-untagged` on the large benchmark tree).
 */
import type { Database } from 'better-sqlite3';
import { IndexError } from '../errors.js';
import type { GcJournalItem } from './journal.js';
import { newDatabase } from './open.js';
import { Batch } from './writes.js';

/** A plan item (src/reclaim/plan.ts GcItem, which this layer does not import): what the journal records, and what apply checks. */
export interface SpilledItem extends GcJournalItem {
  expect: { mtimeMs: number; size?: number; entries?: number; olderThanMs?: number };
}

/** A failure of the spill file (the temporary directory full, say) named as such, not as the index's. */
function spillFailure(err: unknown): never {
  const msg = err instanceof Error ? err.message : String(err);
  throw new IndexError(`temporary file of a large plan (in TMPDIR): ${msg}`);
}

type Row = [
  string,
  string,
  string | null,
  string | null,
  number,
  string,
  number,
  number | null,
  number | null,
  number | null,
];

export class ItemSpill<T extends SpilledItem> {
  private readonly db: Database;
  private readonly insert: Batch;

  constructor() {
    // '' is SQLite's private temporary database: a file only once its cache is full, removed on close.
    this.db = newDatabase('');
    this.db.pragma('journal_mode = OFF');
    this.db.exec(`CREATE TABLE items (kind TEXT NOT NULL, path TEXT NOT NULL, repository TEXT, digest TEXT,
      bytes INTEGER NOT NULL, reason TEXT NOT NULL, mtime_ms INTEGER NOT NULL, size INTEGER, entries INTEGER, older_than_ms INTEGER)`);
    this.insert = new Batch(this.db, `INSERT INTO items`, 10);
    this.db.exec('BEGIN');
  }

  add(i: T): void {
    const e = i.expect;
    try {
      this.insert.add(
        i.kind,
        i.path,
        i.repository ?? null,
        i.digest ?? null,
        i.bytes,
        i.reason,
        e.mtimeMs,
        e.size ?? null,
        e.entries ?? null,
        e.olderThanMs ?? null,
      );
    } catch (err) {
      spillFailure(err);
    }
  }

  /** The items in the order they were added; each call reads them again. */
  *items(): Generator<T> {
    try {
      if (this.db.inTransaction) {
        this.insert.flush();
        this.db.exec('COMMIT');
      }
      const stmt = this.db.prepare(`SELECT * FROM items ORDER BY rowid`).raw();
      for (const [
        k,
        path,
        repository,
        digest,
        bytes,
        reason,
        mtimeMs,
        size,
        entries,
        olderThanMs,
      ] of stmt.iterate() as Iterable<Row>) {
        // Properties assigned, not spread in: 400 k items are read back.
        const item = { kind: k, path } as SpilledItem;
        if (repository !== null) item.repository = repository;
        if (digest !== null) item.digest = digest;
        item.bytes = bytes;
        item.reason = reason;
        const expect: SpilledItem['expect'] = { mtimeMs };
        if (size !== null) expect.size = size;
        if (entries !== null) expect.entries = entries;
        if (olderThanMs !== null) expect.olderThanMs = olderThanMs;
        item.expect = expect;
        yield item as T;
      }
    } catch (err) {
      spillFailure(err);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
