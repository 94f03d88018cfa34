/** `regaudit verify`: re-hash blobs in worker threads, keep each result in the index, report findings. */
import { lstatSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { SEVERITY_RANK, type Severity } from '../audit/findings.js';
import { repositoryFilterOf, repositoryFiltered, repositorySelected, type Selection } from '../audit/select.js';
import { verifyFindings, type VerifyFinding } from '../audit/verify.js';
import {
  badResults,
  blobReferences,
  buildDue,
  buildScope,
  dueReader,
  referencedBySelected,
  resultCounts,
  restatScope,
  saveResults,
  sizeMismatches,
  unlistableBlobData,
  inSample,
  type StoredResult,
} from '../index/verify.js';
import { parsePath, pathFor } from '../layout/paths.js';
import { splitDigest, type Digest } from '../layout/digest.js';
import { renderVerify, type VerifyView } from '../report/verify.js';
import type { Format } from '../report/format.js';
import { hashAll } from '../verify/pool.js';
import { UsageError } from '../errors.js';
import { isS3Url } from '../storage/s3/location.js';
import { withWritableSession, type SessionOptions } from './session.js';

export interface HashProgress {
  bytes: number;
  totalBytes: number;
  blobs: number;
  totalBlobs: number;
}

export interface VerifyOptions extends SessionOptions {
  format: Format;
  now: () => number;
  /** Hash every blob in scope, not only new, changed or failed ones. */
  all?: boolean;
  /** Also re-hash results older than this (ms). */
  olderThanMs?: number;
  /** --repository/--exclude: only blobs the selected repositories reference (report's matcher). */
  selection?: Pick<Selection, 'repositories' | 'exclude'>;
  sample?: { percent: number; seed: number };
  /** Hashing threads; default: one per core. */
  threads?: number;
  failOn?: Severity;
  onHashProgress?: (p: HashProgress) => void;
}

export interface VerifyOutcome {
  output: string;
  failed: boolean;
  findings: VerifyFinding[];
  view: VerifyView;
}

/** Results are committed at least this often (and every FLUSH_RESULTS results): Ctrl-C loses at most this. */
const FLUSH_MS = 500;
const FLUSH_RESULTS = 256;

/** Hashing reads files; a bucket's blobs would need GetObject streams, which verify does not have (README). */
function refuseBucket(root: string): void {
  if (isS3Url(root))
    throw new UsageError(
      `${root}: verify hashes files on a filesystem; it cannot read s3:// storage (copy the bucket to a disk, or verify on the registry host)`,
    );
}

export async function runVerify(opts: VerifyOptions): Promise<VerifyOutcome> {
  if (typeof opts.root === 'string') refuseBucket(opts.root);
  return withWritableSession(opts, async (s) => {
    const { db, scan } = s;
    const root = scan.root;
    refuseBucket(root);
    const sel = opts.selection ?? {};
    const filtered = repositoryFiltered(sel);
    const guard = <T>(fn: () => T): T => s.guard(fn);
    const scope = guard(() =>
      buildScope(db, {
        scanId: scan.id,
        root,
        ...(filtered ? { repository: (name: string) => repositorySelected(name, sel) } : {}),
        ...(opts.sample ? { sample: opts.sample } : {}),
      }),
    );
    // Without a root nothing was scanned now: the index's size and mtime may be old, so each blob in
    // scope is stat'ed (a blob changed since the scan is hashed again). After a scan they are fresh.
    if (s.scanned === undefined)
      guard(() =>
        restatScope(db, (digest) => {
          try {
            const st = lstatSync(`${root}/${pathFor({ kind: 'blobData', digest: digest as Digest })}`);
            return st.isFile() ? { size: st.size, mtimeMs: Math.trunc(st.mtimeMs) } : undefined;
          } catch {
            return undefined;
          }
        }),
      );
    const cutoff = opts.olderThanMs !== undefined ? opts.now() - opts.olderThanMs : undefined;
    const due = guard(() =>
      buildDue(db, root, { all: Boolean(opts.all), ...(cutoff !== undefined ? { verifiedBefore: cutoff } : {}) }),
    );

    const next = guard(() => dueReader(db));
    const jobs = new Map<number, { digest: string }>();
    let id = 0;
    let pending: StoredResult[] = [];
    let lastFlush = Date.now();
    const flush = (): void => {
      if (pending.length) guard(() => saveResults(db, root, pending));
      pending = [];
      lastFlush = Date.now();
    };
    // Also on a timer: results waiting behind one long hash are committed, not lost to a Ctrl-C.
    let timerError: Error | undefined;
    const timer = setInterval(() => {
      try {
        flush();
      } catch (err) {
        timerError ??= err instanceof Error ? err : new Error(String(err));
      }
    }, FLUSH_MS);
    const progress: HashProgress = { bytes: 0, totalBytes: due.bytes, blobs: 0, totalBlobs: due.blobs };
    // Nothing due (a rerun on an unchanged store): no worker threads to start.
    try {
      if (due.blobs > 0)
        await hashAll(
          () => {
            const row = guard(next);
            if (!row) return undefined;
            const { alg, hex } = splitDigest(row.digest as Digest);
            jobs.set(++id, { digest: row.digest });
            return {
              id,
              path: `${root}/${pathFor({ kind: 'blobData', digest: row.digest as Digest })}`,
              alg,
              hex,
              size: row.size,
              mtimeMs: row.mtimeMs,
            };
          },
          opts.threads ?? availableParallelism(),
          {
            onResult: (r) => {
              const job = jobs.get(r.id)!;
              jobs.delete(r.id);
              pending.push({
                status: r.status,
                ...(r.detail !== undefined ? { detail: r.detail } : {}),
                size: r.size,
                mtimeMs: r.mtimeMs,
                digest: job.digest,
                verifiedMs: opts.now(),
              });
              progress.blobs++;
              opts.onHashProgress?.(progress);
              if (pending.length >= FLUSH_RESULTS || Date.now() - lastFlush >= FLUSH_MS) flush();
            },
            onBytes: (n) => {
              progress.bytes += n;
              opts.onHashProgress?.(progress);
            },
          },
        );
    } finally {
      clearInterval(timer);
    }
    if (timerError !== undefined) throw timerError;
    flush();

    const findings = guard(() => {
      const unlistable = unlistableBlobData(db, scan.id).flatMap((d) => {
        const p = parsePath(d.path);
        if (p.kind !== 'blobData') return [];
        if (filtered && !referencedBySelected(db, scan.id, p.digest)) return [];
        if (opts.sample && !inSample(p.digest, opts.sample.percent, opts.sample.seed)) return [];
        const detail = d.kind === 'symlink' ? 'data is a symbolic link (not followed)' : 'data is not a regular file';
        return [{ path: d.path, digest: p.digest, detail }];
      });
      return verifyFindings({
        bad: badResults(db, root),
        sizeMismatches: sizeMismatches(db, scan.id),
        unlistable,
        references: (d) => blobReferences(db, scan.id, d),
        blobPath: (d) => pathFor({ kind: 'blobData', digest: d as Digest }),
      });
    });
    const counts = guard(() => resultCounts(db, root));
    const view: VerifyView = {
      root,
      scannedAt: new Date(scan.finishedMs ?? scan.startedMs).toISOString(),
      verifiedAt: new Date(opts.now()).toISOString(),
      scope: {
        filter: repositoryFilterOf(sel),
        sample: opts.sample ? { ...opts.sample, blobs: scope.blobs, of: scope.total } : null,
      },
      totals: {
        blobs: scope.blobs,
        bytes: scope.bytes,
        hashed: due.blobs,
        hashedBytes: due.bytes,
        unchanged: scope.blobs - due.blobs,
        ok: counts.ok,
        corrupt: counts.corrupt,
        unreadable: counts.unreadable,
      },
      findings,
    };
    const failOn = opts.failOn;
    const failed = failOn !== undefined && findings.some((f) => SEVERITY_RANK[f.severity] <= SEVERITY_RANK[failOn]);
    return { output: renderVerify(view, opts.format), failed, findings, view };
  });
}
