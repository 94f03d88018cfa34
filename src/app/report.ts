import { loadAuditInput, loadGraphInput } from '../audit/load.js';
import { audit } from '../audit/rules.js';
import { SEVERITY_RANK, type Finding, type FindingKind, type Severity } from '../audit/findings.js';
import { renderReportChunks } from '../report/report.js';
import type { Format } from '../report/format.js';
import { withSession, type SessionOptions } from './session.js';

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
  findings: Finding[];
}

export async function runReport(opts: ReportOptions): Promise<ReportOutcome> {
  return withSession(opts, (s) => {
    const input = s.guard(() => ({
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
    return { output, failed, findings };
  });
}
