/** `regaudit diff <A> <B>`: what B lacks or has beyond A, each side a storage root (scanned first) or an index file. */
import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { IndexError, StorageError, UsageError, describeFsError } from '../errors.js';
import {
  MISSING_KINDS,
  attachBoth,
  changeCounts,
  computeChanges,
  iterateChanges,
  unpullableTags,
  type DiffSide,
} from '../index/diff.js';
import { guardIndex, openIndexForRead } from '../index/open.js';
import { latestScan } from '../index/scans.js';
import { resolveStorageRoot } from '../scan/root.js';
import { isS3Url } from '../storage/s3/location.js';
import { resolveRoot } from './root.js';
import { renderDiffChunks, summarize, type DiffView, type SideView } from '../report/diff.js';
import type { Format } from '../report/format.js';
import { withSession, type SessionOptions } from './session.js';

export interface DiffOptions extends Omit<SessionOptions, 'root'> {
  a: string;
  b: string;
  format: Format;
  uploads: boolean;
  failOn?: 'missing' | 'any';
}

export interface DiffOutcome {
  /** Written one after the other; the index connection closes when the last piece is consumed. */
  output: Iterable<string>;
  failed: boolean;
  view: Omit<DiffView, 'changes'>;
}

const SQLITE_MAGIC = 'SQLite format 3\0';

type Given = { kind: 'root'; given: string; v2: string } | { kind: 'index'; given: string; file: string };

function classify(given: string): Given {
  // A bucket (s3://BUCKET/ROOTDIRECTORY) is a storage root, scanned as every command scans one.
  if (isS3Url(given)) return { kind: 'root', given, v2: resolveRoot(given).resolved.v2 };
  let st;
  try {
    st = statSync(given);
  } catch (err) {
    throw new StorageError(`${given}: ${describeFsError(err)}`);
  }
  if (st.isDirectory()) return { kind: 'root', given, v2: resolveStorageRoot(given).v2 };
  const head = Buffer.alloc(16);
  let fd: number | undefined;
  try {
    fd = openSync(given, 'r');
    readSync(fd, head, 0, 16, 0);
  } catch (err) {
    throw new StorageError(`${given}: ${describeFsError(err)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (head.toString('latin1') !== SQLITE_MAGIC)
    throw new StorageError(`${given}: neither registry storage (a directory) nor a regaudit index`);
  return { kind: 'index', given, file: realpathSync(given) };
}

function sameFile(x: string, y: string): boolean {
  try {
    return realpathSync(x) === realpathSync(y);
  } catch {
    return false;
  }
}

async function resolveSide(g: Given, opts: DiffOptions): Promise<{ side: DiffSide; view: SideView }> {
  if (g.kind === 'root') {
    return withSession({ ...opts, root: g.given }, (s) => ({
      side: { file: path.resolve(s.dbFile), scanId: s.scan.id, root: s.scan.root },
      view: { root: s.scan.root, scannedAt: iso(s.scan.finishedMs ?? s.scan.startedMs), index: null },
    }));
  }
  const db = openIndexForRead(g.file);
  try {
    const scan = guardIndex(g.given, () => latestScan(db, g.given));
    return {
      side: { file: g.file, scanId: scan.id, root: scan.root },
      view: { root: scan.root, scannedAt: iso(scan.finishedMs ?? scan.startedMs), index: g.given },
    };
  } finally {
    db.close();
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

export async function runDiff(opts: DiffOptions): Promise<DiffOutcome> {
  if (sameFile(opts.a, opts.b)) throw new UsageError(`${opts.a} and ${opts.b} are the same path: nothing to compare`);
  const ga = classify(opts.a);
  const gb = classify(opts.b);
  if (ga.kind === 'root' && gb.kind === 'root' && ga.v2 === gb.v2)
    throw new UsageError(`${opts.a} and ${opts.b} are the same storage (${ga.v2}): nothing to compare`);
  for (const [x, y] of [
    [ga, gb],
    [gb, ga],
  ] as const) {
    // Scanning a root into --db replaces that root's scans there: an index side must be another file.
    if (x.kind === 'index' && y.kind === 'root' && opts.dbFile !== undefined && sameFile(x.file, opts.dbFile))
      throw new UsageError(
        `${x.given} is also --db, where ${y.given} would be scanned: pass another --db to compare with this index`,
      );
  }
  const a = await resolveSide(ga, opts);
  const b = await resolveSide(gb, opts);
  if (a.side.file === b.side.file && a.side.scanId === b.side.scanId)
    throw new UsageError(`${opts.a} and ${opts.b} are the same scan of ${a.side.root}: nothing to compare`);

  let db;
  try {
    db = attachBoth(a.side, b.side);
  } catch (err) {
    throw new IndexError(`cannot attach ${a.side.file} and ${b.side.file}: ${(err as Error).message}`);
  }
  try {
    const guard = <T>(fn: () => T): T => guardIndex(b.side.file, fn);
    const { verified } = guard(() => computeChanges(db, a.side, b.side, { uploads: opts.uploads }));
    const counts = guard(() => changeCounts(db));
    const unpullable = guard(() => unpullableTags(db, b.side));
    const summary = summarize(counts, unpullable, verified, opts.uploads);
    const view = { a: a.view, b: b.view, summary };
    const failed =
      opts.failOn === 'any'
        ? counts.length > 0
        : opts.failOn === 'missing'
          ? counts.some((c) => MISSING_KINDS.includes(c.kind))
          : false;
    const conn = db;
    const output = (function* () {
      try {
        yield* renderDiffChunks({ ...view, changes: iterateChanges(conn) }, opts.format);
      } finally {
        conn.close();
      }
    })();
    return { output, failed, view };
  } catch (err) {
    db.close();
    throw err;
  }
}
