import { describeRepositoryFilter } from '../audit/select.js';
import type { VerifyFinding } from '../audit/verify.js';
import { csv, humanBytes, json, printable, shortDigest, table, type Format } from './format.js';

export interface VerifyView {
  root: string;
  scannedAt: string;
  verifiedAt: string;
  scope: {
    /** --repository/--exclude globs when the scope is filtered, else null (as usage and gc-preview). */
    filter: { repositories: string[]; exclude: string[] } | null;
    sample: { percent: number; seed: number; blobs: number; of: number } | null;
  };
  totals: {
    /** Blobs (and their bytes) in scope. */
    blobs: number;
    bytes: number;
    /** Hashed by this run. */
    hashed: number;
    hashedBytes: number;
    /** In scope and skipped: verified before, size and mtime unchanged. */
    unchanged: number;
    /** Stored results of the blobs in scope, after this run. */
    ok: number;
    corrupt: number;
    unreadable: number;
  };
  findings: VerifyFinding[];
}

/** The JSON contract of `verify --format json` (README); findings sorted as report's. */
export function verifyJson(v: VerifyView): Record<string, unknown> {
  return {
    root: v.root,
    scannedAt: v.scannedAt,
    verifiedAt: v.verifiedAt,
    scope: v.scope,
    totals: v.totals,
    findings: v.findings,
  };
}

export function renderVerify(v: VerifyView, format: Format): string {
  if (format === 'json') return json(verifyJson(v));
  if (format === 'csv')
    return csv(
      ['kind', 'severity', 'repository', 'tag', 'digest', 'path', 'bytes', 'message'],
      v.findings.map((f) => [f.kind, f.severity, f.repository, f.tag, f.digest, f.path, f.bytes, f.message]),
    );
  const t = v.totals;
  const scope = [
    v.scope.filter ? describeRepositoryFilter(v.scope.filter) : '',
    v.scope.sample
      ? `SAMPLED ${v.scope.sample.percent}% (seed ${v.scope.sample.seed}): ${v.scope.sample.blobs} of ${v.scope.sample.of} blobs`
      : '',
  ].filter(Boolean);
  const lines = [
    `Storage: ${printable(v.root)} (scanned ${v.scannedAt})`,
    ...(scope.length ? [`Scope: ${printable(scope.join('; '))}`] : []),
    `${t.blobs} blobs (${humanBytes(t.bytes)}) in scope: hashed ${t.hashed} (${humanBytes(t.hashedBytes)}), ${t.unchanged} unchanged since verified`,
    `Results: ${t.ok} ok, ${t.corrupt} corrupt, ${t.unreadable} unreadable`,
  ];
  if (v.findings.length === 0) lines.push('No findings: every blob in scope hashes to its digest.');
  else
    lines.push(
      table(
        ['severity', 'kind', 'where', 'message'],
        v.findings.map((f) => [
          f.severity,
          f.kind,
          printable(shortDigest(f.digest ?? f.path ?? '')),
          printable(shortDigest(f.message)),
        ]),
      ),
    );
  return `${lines.join('\n')}\n`;
}
