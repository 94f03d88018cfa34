import { describeRepositoryFilter } from '../audit/select.js';
/** Output of `gc-preview`: per garbage-collect scenario, what it deletes, removes and breaks. */
import type { GcPrediction } from '../gc/prediction.js';
import {
  fitText,
  storageHeading,
  csvChunks,
  humanBytes,
  jsonDocChunks,
  printable,
  shortDigest,
  table,
  type Format,
} from './format.js';

export interface GcPreviewView {
  root: string;
  scannedAt: string;
  /** --repository/--exclude globs when the lists are narrowed to matching repositories, else null. */
  filter?: { repositories: string[]; exclude: string[] } | null;
  predictions: GcPrediction[];
}

/** The JSON contract of `gc-preview --format json` (documented in the README). */
export function gcPreviewJson(v: GcPreviewView): Record<string, unknown> {
  return {
    root: v.root,
    scannedAt: v.scannedAt,
    filter: v.filter ?? null,
    scenarios: v.predictions.map((p) => ({
      id: p.scenario.id,
      registryVersion: p.scenario.version,
      deleteUntagged: p.scenario.deleteUntagged,
      command: p.scenario.command,
      outcome: p.outcome,
      withheld: p.withheld,
      issues: p.issues,
      // The lists are iterables the JSON writer streams (GcList: read from the index as they are written).
      blobs: { count: p.blobs.count, bytes: p.blobs.bytes, items: p.blobs },
      manifests: { count: p.manifests.count, bytes: p.manifests.bytes, items: p.manifests },
      layerLinks: { count: p.layerLinks.count, items: p.layerLinks },
      brokenTags: p.brokenTags,
    })),
  };
}

const LIST_LIMIT = 20;

export function renderGcPreview(v: GcPreviewView, format: Format): string {
  return [...renderGcPreviewChunks(v, format)].join('');
}

/** The output in the pieces it is written in: JSON and CSV a batch of items at a time. */
export function renderGcPreviewChunks(v: GcPreviewView, format: Format): Iterable<string> {
  if (format === 'json') return jsonDocChunks(gcPreviewJson(v));
  if (format === 'csv') {
    const rows = function* (): Generator<Array<string | number | null>> {
      for (const p of v.predictions) {
        const id = p.scenario.id;
        for (const i of p.issues) yield [id, i.effect, i.repository, null, i.digest ?? i.path ?? null, null, i.message];
        for (const b of p.blobs) yield [id, 'delete-blob', null, null, b.digest, b.size, null];
        for (const m of p.manifests) yield [id, 'delete-manifest', m.repository, null, m.digest, m.size, null];
        for (const l of p.layerLinks) yield [id, 'remove-layer-link', l.repository, null, l.digest, l.size, null];
        for (const t of p.brokenTags)
          yield [id, 'break-tag', t.repository, t.tag, t.digest, t.bytes, t.deletedManifests.join(' ')];
      }
    };
    return csvChunks(['scenario', 'action', 'repository', 'tag', 'digest', 'bytes', 'detail'], rows());
  }
  return [gcPreviewTable(v)];
}

function gcPreviewTable(v: GcPreviewView): string {
  const lines = [
    ...storageHeading(v.root, v.scannedAt),
    'What `registry garbage-collect` would do (nothing is changed; run it only on a stopped or read-only registry):',
    ...(v.filter
      ? [
          `${printable(describeRepositoryFilter(v.filter))}: manifests, layer links, broken tags and issues of matching repositories only; outcomes and blobs are the whole storage's (garbage-collect runs over all of it).`,
        ]
      : []),
    table(
      [
        'scenario',
        'outcome',
        'blobs deleted',
        'bytes freed',
        'manifests deleted',
        'layer links removed',
        'tags broken',
      ],
      v.predictions.map((p) => [
        p.scenario.command,
        p.outcome,
        p.withheld ? '-' : p.blobs.count,
        p.withheld ? '-' : humanBytes(p.blobs.bytes),
        p.withheld ? '-' : p.manifests.count,
        p.scenario.version !== 3 ? 'never (2.x)' : p.withheld ? '-' : p.layerLinks.count,
        p.brokenTags.length,
      ]),
    ),
  ];
  /** At most LIST_LIMIT rows in a table; the rest is counted (JSON and CSV list everything). */
  const capped = <T>(xs: T[], render: (ys: T[]) => string): string[] =>
    xs.length === 0
      ? []
      : [
          render(xs.slice(0, LIST_LIMIT)),
          ...(xs.length > LIST_LIMIT
            ? [`  … and ${xs.length - LIST_LIMIT} more (--format json or csv lists all)`]
            : []),
        ];
  for (const p of v.predictions) {
    const detail: string[] = [
      ...(p.outcome === 'aborts'
        ? ['  aborts in its mark phase: it deletes nothing (fix what the table below names first)']
        : p.outcome === 'uncertain'
          ? [
              `  uncertain: part of the storage was not read, so nothing is listed as safe to delete (the model would delete ${p.withheld?.blobs ?? 0} blobs, ${humanBytes(p.withheld?.bytes ?? 0)})`,
            ]
          : []),
      ...capped(p.issues, (is) =>
        table(
          ['effect', 'repository', 'where', 'why'],
          is.map((i) => [
            i.effect,
            printable(i.repository ?? ''),
            printable(shortDigest(i.digest ?? i.path ?? '')),
            printable(i.message),
          ]),
        ),
      ),
      ...capped(p.brokenTags, (ts) =>
        table(
          ['broken tag', 'manifest', 'children deleted', 'blobs swept', 'bytes'],
          ts.map((t) => [
            printable(`${t.repository}:${t.tag}`),
            shortDigest(t.digest),
            t.deletedManifests.length,
            t.sweptBlobs,
            humanBytes(t.bytes),
          ]),
        ),
      ),
    ];
    if (p.blobs.count && p.blobs.count <= LIST_LIMIT)
      detail.push([...p.blobs].map((b) => `  delete ${b.digest} (${humanBytes(b.size)})`).join('\n'));
    else if (p.blobs.count) detail.push(`  ${p.blobs.count} blobs (the list: --format json or csv)`);
    if (detail.length) lines.push('', `${p.scenario.command}:`, ...detail);
  }
  return fitText(`${lines.join('\n')}\n`);
}
