import { loadAuditInput, loadGraphInput } from '../audit/load.js';
import { guardIndex } from '../index/open.js';
import { audit } from '../audit/rules.js';
import { SEVERITY_RANK, type Finding, type FindingKind, type Severity } from '../audit/findings.js';
import { renderReportChunks } from '../report/report.js';
import type { Format } from '../report/format.js';
import { openSession, type SessionOptions } from './session.js';

export interface ReportOptions extends SessionOptions {
  format: Format;
  now: number;
  uploadAgeMs: number;
  kinds?: FindingKind[];
  failOn?: Severity;
}

export interface ReportOutcome {
  /** The rendered report, in pieces to write one after the other (produced as they are consumed). */
  output: Iterable<string>;
  /** True when --fail-on is set and a finding at or above it exists. */
  failed: boolean;
  /** Paths that could not be read (unreadable-path findings, whatever --kind shows). */
  unreadable: number;
  findings: Finding[];
}

export async function runReport(opts: ReportOptions): Promise<ReportOutcome> {
  const s = await openSession(opts);
  try {
    const input = guardIndex(opts.dbFile, () => ({
      ...loadAuditInput(s.db, s.scan.id),
      graph: loadGraphInput(s.db, s.scan.id, opts.kinds),
    }));
    const { repositories, findings: all } = audit(input, { now: opts.now, uploadAgeMs: opts.uploadAgeMs });
    const findings = opts.kinds?.length ? all.filter((f) => opts.kinds!.includes(f.kind)) : all;
    const output = renderReportChunks(
      {
        root: s.scan.root,
        scannedAt: new Date(s.scan.finishedMs ?? s.scan.startedMs).toISOString(),
        repositories,
        findings,
      },
      opts.format,
    );
    const failOn = opts.failOn;
    const failed = failOn !== undefined && findings.some((f) => SEVERITY_RANK[f.severity] <= SEVERITY_RANK[failOn]);
    return { output, failed, unreadable: all.filter((f) => f.kind === 'unreadable-path').length, findings };
  } finally {
    s.db.close();
  }
}
