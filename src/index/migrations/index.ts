import type { Database } from 'better-sqlite3';
import { IndexError } from '../../errors.js';
import { up as v1 } from './0001-initial.js';
import { up as v2 } from './0002-journal.js';
import { up as v3 } from './0003-manifest-graph.js';
import { up as v4 } from './0004-rescan-stamps.js';
import { up as v5 } from './0005-graph-derived.js';
import { up as v6 } from './0006-tag-link-index.js';
import { up as v7 } from './0007-scan-mode.js';
import { up as v8 } from './0008-finding-indexes.js';
import { up as v13 } from './0013-report-checks.js';

/** Migration N brings user_version N-1 to N; append only, never edit a shipped one. */
const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [v1, v2, v3, v4, v5, v6, v7, v8, v13];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function userVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the database to SCHEMA_VERSION; refuses a database written by a newer regaudit. */
export function migrate(db: Database, file: string): void {
  const current = userVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new IndexError(
      `${file}: index schema version ${current} is newer than this regaudit supports (${SCHEMA_VERSION}); upgrade regaudit or use another --db`,
    );
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      MIGRATIONS[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
