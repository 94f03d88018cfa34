import type { Finding } from '../audit/findings.js';
import type { RepositoryReport } from '../audit/rules.js';
import { csv, json, jsonChunks, printable, shortDigest, table, yesNo, type Format } from './format.js';

export interface ReportView {
  root: string;
  scannedAt: string;
  repositories: RepositoryReport[];
  findings: Finding[];
}

/** The JSON contract of `report --format json` (documented in the README); `findings` stays the last key. */
export function reportJson(v: ReportView): Record<string, unknown> {
  return {
    root: v.root,
    scannedAt: v.scannedAt,
    repositories: v.repositories.map((r) => ({
      name: r.name,
      state: r.state,
      tags: r.tagLinks,
      liveTags: r.liveTags,
      tagDirectories: r.tagDirs,
      revisions: r.revisions,
      layerLinks: r.layerLinks,
      uploads: r.uploads,
      listedByV2: r.listedByV2,
      listedByV3: r.listedByV3,
      validName: r.nameProblem === null,
    })),
    findings: v.findings,
  };
}

function summary(findings: Finding[]): string {
  const counts = new Map<string, number>();
  for (const f of findings)
    counts.set(`${f.severity}\u0000${f.kind}`, (counts.get(`${f.severity}\u0000${f.kind}`) ?? 0) + 1);
  const rows = [...counts].map(([k, n]) => [...k.split('\u0000'), n] as [string, string, number]);
  return rows.length ? table(['severity', 'kind', 'count'], rows) : 'No findings.';
}

/** The report in the pieces it is written in (JSON is streamed a batch of findings at a time). */
export function renderReportChunks(v: ReportView, format: Format): Iterable<string> {
  return format === 'json' ? jsonChunks(reportJson(v), 'findings') : [renderReport(v, format)];
}

export function renderReport(v: ReportView, format: Format): string {
  if (format === 'json') return json(reportJson(v));
  if (format === 'csv') {
    return csv(
      ['kind', 'severity', 'repository', 'tag', 'digest', 'path', 'bytes', 'message'],
      v.findings.map((f) => [f.kind, f.severity, f.repository, f.tag, f.digest, f.path, f.bytes, f.message]),
    );
  }
  const repos = table(
    ['repository', 'state', 'tags', 'revisions', 'layer links', 'uploads', 'listed 2.x', 'listed 3.x'],
    v.repositories.map((r) => [
      printable(r.name),
      r.state,
      r.tagLinks,
      r.revisions,
      r.layerLinks,
      r.uploads,
      yesNo(r.listedByV2),
      yesNo(r.listedByV3),
    ]),
  );
  const details = v.findings.length
    ? table(
        ['severity', 'kind', 'repository', 'where', 'message'],
        v.findings.map((f) => [
          f.severity,
          f.kind,
          printable(f.repository ?? ''),
          printable(shortDigest([f.tag ? `tag ${f.tag}` : '', f.digest ?? '', f.path ?? ''].filter(Boolean).join(' '))),
          printable(shortDigest(f.message)),
        ]),
        { wrap: { 3: 44, 4: 72 } },
      )
    : '';
  const empty = v.repositories.filter((r) => r.state === 'empty').length;
  return [
    `Storage: ${printable(v.root)} (scanned ${v.scannedAt})`,
    `${v.repositories.length} repositories, ${empty} empty`,
    repos,
    '',
    'Findings:',
    summary(v.findings),
    details,
  ]
    .filter((s, i, a) => !(s === '' && a[i - 1] === ''))
    .join('\n')
    .trimEnd()
    .concat('\n');
}
