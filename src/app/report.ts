import { loadAuditInput, loadGraphInput } from '../audit/load.js';
import { audit } from '../audit/rules.js';
import { SEVERITY_RANK, type Finding, type FindingKind, type Severity } from '../audit/findings.js';
import { renderReportChunks } from '../report/report.js';
import { repositorySelected, selectFindings, type Selection } from '../audit/select.js';
import type { Format } from '../report/format.js';
import { withSession, type SessionOptions } from './session.js';

export interface ReportOptions extends SessionOptions {
  format: Format;
  now: number;
  uploadAgeMs: number;
  kinds?: FindingKind[];
  failOn?: Severity;
  /** --severity, --repository, --exclude. */
  selection?: Selection;
  /** Table: the findings one by one (otherwise the summary only). */
  details?: boolean;
  /** Table: at most this many findings listed. */
  top?: number;
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
  return withSession(opts, (s) => {
    const input = s.guard(() => ({
      ...loadAuditInput(s.db, s.scan.id),
      graph: loadGraphInput(s.db, s.scan.id, opts.kinds),
    }));
    const { repositories, findings: all } = audit(input, { now: opts.now, uploadAgeMs: opts.uploadAgeMs });
    const sel = opts.selection ?? {};
    const findings = selectFindings(opts.kinds?.length ? all.filter((f) => opts.kinds!.includes(f.kind)) : all, sel);
    const output = renderReportChunks(
      {
        root: s.scan.root,
        scannedAt: new Date(s.scan.finishedMs ?? s.scan.startedMs).toISOString(),
        repositories: repositories.filter((r) => repositorySelected(r.name, sel)),
        findings,
      },
      opts.format,
      { details: opts.details ?? true, ...(opts.top !== undefined ? { top: opts.top } : {}) },
    );
    const failOn = opts.failOn;
    const failed = failOn !== undefined && findings.some((f) => SEVERITY_RANK[f.severity] <= SEVERITY_RANK[failOn]);
    return { output, failed, unreadable: all.filter((f) => f.kind === 'unreadable-path').length, findings };
  });
}
