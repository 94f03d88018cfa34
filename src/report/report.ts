import type { Finding } from '../audit/findings.js';
import type { RepositoryReport } from '../audit/rules.js';
import {
  csvChunks,
  humanBytes,
  jsonChunks,
  paint,
  printable,
  shortDigest,
  table,
  tableChunks,
  yesNo,
  type Format,
  storageHeading,
  fitText,
} from './format.js';

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

/** How the table view lists findings: all of them (--details), or the summary only; --top caps the list. */
export interface ReportLayout {
  details: boolean;
  top?: number;
}

/** Findings by severity and kind, with their bytes (findings arrive sorted by severity, then kind). */
function summary(findings: Finding[]): string {
  const counts = new Map<string, { n: number; bytes: number }>();
  for (const f of findings) {
    const k = `${f.severity}\u0000${f.kind}`;
    const c = counts.get(k) ?? { n: 0, bytes: 0 };
    c.n++;
    c.bytes += f.bytes ?? 0;
    counts.set(k, c);
  }
  const rows = [...counts].map(([k, c]) => {
    const [severity, kind] = k.split('\u0000') as [string, string];
    return [paint(severity), kind, c.n, c.bytes ? humanBytes(c.bytes) : ''];
  });
  return rows.length ? table(['severity', 'kind', 'count', 'bytes'], rows) : 'No findings.';
}

/** Repositories by state, and what garbage-collect could reclaim (unreferenced blobs). */
function overview(v: ReportView): string[] {
  const states = new Map<string, number>();
  for (const r of v.repositories) states.set(r.state, (states.get(r.state) ?? 0) + 1);
  const byState = [...states]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([st, n]) => `${n} ${paint(st)}`)
    .join(', ');
  const blobs = v.findings.filter((f) => f.kind === 'unreferenced-blob');
  const bytes = blobs.reduce((n, f) => n + (f.bytes ?? 0), 0);
  const uncertain = blobs.some((f) => f.uncertain);
  return [
    `${v.repositories.length} repositories${byState ? `: ${byState}` : ''}`,
    `Reclaimable by garbage-collect: ${humanBytes(bytes)} in ${blobs.length} unreferenced blobs${uncertain ? ` (${paint('uncertain')}: part of the storage could not be read)` : ''}`,
  ];
}

/** The report in the pieces it is written in: JSON and CSV a batch of findings at a time, tables a batch of rows. */
export function renderReportChunks(
  v: ReportView,
  format: Format,
  layout: ReportLayout = { details: true },
): Iterable<string> {
  if (format === 'json') return jsonChunks(reportJson(v), 'findings');
  if (format === 'csv') {
    const rows = function* (): Generator<Array<string | number | null | undefined>> {
      for (const f of v.findings) yield [f.kind, f.severity, f.repository, f.tag, f.digest, f.path, f.bytes, f.message];
    };
    return csvChunks(['kind', 'severity', 'repository', 'tag', 'digest', 'path', 'bytes', 'message'], rows());
  }
  return reportTable(v, layout);
}

export function renderReport(v: ReportView, format: Format, layout: ReportLayout = { details: true }): string {
  return [...renderReportChunks(v, format, layout)].join('');
}

function* reportTable(v: ReportView, layout: ReportLayout): Generator<string> {
  const head = [...storageHeading(v.root, v.scannedAt), ...overview(v)];
  if (!layout.details) {
    yield fitText(
      [
        ...head,
        '',
        'Findings:',
        summary(v.findings),
        '',
        'Every repository and finding: --details (or --format json|csv).',
        'Narrow with --severity, --kind, --repository, --exclude, --top.',
        '',
      ].join('\n'),
    );
    return;
  }
  const listed = layout.top !== undefined ? v.findings.slice(0, layout.top) : v.findings;
  const repos = tableChunks(
    ['repository', 'state', 'tags', 'revisions', 'layer links', 'uploads', 'listed 2.x', 'listed 3.x'],
    function* () {
      for (const r of v.repositories)
        yield [
          printable(r.name),
          paint(r.state),
          r.tagLinks,
          r.revisions,
          r.layerLinks,
          r.uploads,
          yesNo(r.listedByV2),
          yesNo(r.listedByV3),
        ];
    },
  );
  const details = listed.length
    ? tableChunks(['severity', 'kind', 'repository', 'where', 'message'], function* () {
        for (const f of listed)
          yield [
            paint(f.severity),
            f.kind,
            printable(f.repository ?? ''),
            printable(
              shortDigest([f.tag ? `tag ${f.tag}` : '', f.digest ?? '', f.path ?? ''].filter(Boolean).join(' ')),
            ),
            printable(shortDigest(f.message)),
          ];
      })
    : '';
  const more = v.findings.length - listed.length;
  const blocks = [
    ...head,
    repos,
    '',
    'Findings:',
    summary(v.findings),
    details,
    more > 0
      ? `… and ${more} more findings (--top ${layout.top ?? 0}; all of them: without --top, or --format json|csv)`
      : '',
  ].filter((s, i, a) => !(s === '' && a[i - 1] === ''));
  // No blank line at the end: the text ends with its last block and one newline.
  while (blocks[blocks.length - 1] === '') blocks.pop();
  for (const b of blocks) {
    if (typeof b === 'string') yield `${fitText(b)}\n`;
    else yield* b; // a table, already fitted, each line ending in a newline
  }
}
