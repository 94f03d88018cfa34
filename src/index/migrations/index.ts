import type { Database } from 'better-sqlite3';
import { up as v1 } from './0001-initial.js';
import { up as v2 } from './0002-journal.js';
import { up as v3 } from './0003-manifest-graph.js';
import { up as v4 } from './0004-rescan-stamps.js';
import { up as v5 } from './0005-graph-derived.js';
import { up as v6 } from './0006-tag-link-index.js';
import { up as v7 } from './0007-scan-mode.js';
import { up as v8 } from './0008-finding-indexes.js';
import { up as v9 } from './0009-blob-verifications.js';
import { up as v10, APPLICATION_ID } from './0010-views.js';
import { up as v11 } from './0011-storage-kind.js';
import { up as v12 } from './0012-report-checks.js';
import { up as v13 } from './0013-gc-journal.js';
import { up as v14 } from './0014-manifest-etags.js';

export { APPLICATION_ID };

/**
 * Migration N brings user_version N-1 to N; append only, never edit a shipped one. A migration is
 * frozen: DDL and data moves only, never today's code (derived tables are rebuilt by the next scan).
 */
const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function userVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the database to SCHEMA_VERSION; the caller (open.ts) has refused a newer or foreign one. */
export function migrate(db: Database): void {
  for (let v = userVersion(db); v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      MIGRATIONS[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
