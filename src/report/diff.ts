import type { Change, ChangeCounts, ChangeKind } from '../index/diff.js';
import { csv, humanBytes, printable, shortDigest, table, type Format } from './format.js';

export interface SideView {
  /** docker/registry/v2 of the scanned storage. */
  root: string;
  scannedAt: string;
  /** The index file given on the command line, or null when the side was a storage root scanned into --db. */
  index: string | null;
}

export interface DiffSummary {
  /** B holds every repository, tag (same digest), revision, layer link and blob (same size, not corrupt) of A. */
  holdsEverything: boolean;
  identical: boolean;
  missing: {
    repositories: number;
    tags: number;
    movedTags: number;
    revisions: number;
    layerLinks: number;
    blobs: number;
    /** Bytes of A's blobs that B lacks, holds at another size or holds corrupt. */
    bytes: number;
    sizeChangedBlobs: number;
    corruptBlobs: number;
    uploads: number;
  };
  added: {
    repositories: number;
    tags: number;
    revisions: number;
    layerLinks: number;
    blobs: number;
    bytes: number;
    uploads: number;
  };
  /** repository:tag of A's tags B cannot serve any more (removed, or an image part lost). */
  unpullableTags: string[];
  /** Whether both sides had verify results, so blob-corrupt-in-b was compared. */
  verifyCompared: boolean;
  uploadsCompared: boolean;
  /** The answer in one line. */
  message: string;
}

export interface DiffView {
  a: SideView;
  b: SideView;
  summary: DiffSummary;
  changes: Iterable<Change>;
}

export function summarize(
  counts: readonly ChangeCounts[],
  unpullable: string[],
  verifyCompared: boolean,
  uploadsCompared: boolean,
): DiffSummary {
  const n = (k: ChangeKind): number => counts.find((c) => c.kind === k)?.count ?? 0;
  const b = (k: ChangeKind): number => counts.find((c) => c.kind === k)?.bytes ?? 0;
  const missing = {
    repositories: n('repository-removed'),
    tags: n('tag-removed'),
    movedTags: n('tag-moved'),
    revisions: n('revision-removed'),
    layerLinks: n('layer-link-removed'),
    blobs: n('blob-removed'),
    bytes: b('blob-removed') + b('blob-size-changed') + b('blob-corrupt-in-b'),
    sizeChangedBlobs: n('blob-size-changed'),
    corruptBlobs: n('blob-corrupt-in-b'),
    uploads: n('upload-removed'),
  };
  const added = {
    repositories: n('repository-added'),
    tags: n('tag-added'),
    revisions: n('revision-added'),
    layerLinks: n('layer-link-added'),
    blobs: n('blob-added'),
    bytes: b('blob-added'),
    uploads: n('upload-added'),
  };
  const holdsEverything = Object.entries(missing).every(([, v]) => v === 0);
  const identical = counts.length === 0;
  const parts = (o: Record<string, number>, names: Record<string, string>): string =>
    Object.entries(names)
      .filter(([k]) => (o[k] ?? 0) > 0)
      .map(([k, name]) => `${o[k]} ${name}`)
      .join(', ');
  let message: string;
  if (holdsEverything) {
    const extra = parts(added, {
      repositories: 'repositories',
      tags: 'tags',
      revisions: 'revisions',
      layerLinks: 'layer links',
      blobs: 'blobs',
      uploads: 'uploads',
    });
    message = identical
      ? 'B holds everything A holds, and nothing else.'
      : `B holds everything A holds, plus ${extra}.`;
  } else {
    const lacks = parts(missing, {
      repositories: 'repositories',
      tags: 'tags',
      movedTags: 'moved tags',
      revisions: 'revisions',
      layerLinks: 'layer links',
      blobs: 'blobs',
      sizeChangedBlobs: 'blobs of another size',
      corruptBlobs: 'corrupt blobs',
      uploads: 'uploads',
    });
    const tags = unpullable.length
      ? `; ${unpullable.length} tags of A cannot be pulled from B: ${unpullable.slice(0, 10).join(', ')}${unpullable.length > 10 ? ', …' : ''}`
      : '';
    message = `B lacks ${lacks} (${humanBytes(missing.bytes)} of blobs)${tags}.`;
  }
  return {
    holdsEverything,
    identical,
    missing,
    added,
    unpullableTags: unpullable,
    verifyCompared,
    uploadsCompared,
    message,
  };
}

const CSV_HEAD = ['kind', 'repository', 'tag', 'digest', 'from', 'to', 'bytes', 'upload'];
const TABLE_ROWS = 1000;

/** The diff in pieces: the changes are consumed one at a time and never all held at once. */
export function* renderDiffChunks(v: DiffView, format: Format): Generator<string> {
  if (format === 'json') {
    const head = JSON.stringify({ a: v.a, b: v.b, summary: v.summary, changes: [] }, null, 2);
    yield `${head.slice(0, head.length - '[]\n}'.length)}[`;
    let first = true;
    for (const c of v.changes) {
      yield `${first ? '\n' : ',\n'}    ${JSON.stringify(c)}`;
      first = false;
    }
    yield first ? ']\n}\n' : '\n  ]\n}\n';
    return;
  }
  if (format === 'csv') {
    yield csv(CSV_HEAD, []);
    let rows: Array<Array<string | number | null | undefined>> = [];
    for (const c of v.changes) {
      rows.push([c.kind, c.repository, c.tag, c.digest, c.from, c.to, c.bytes, c.upload]);
      if (rows.length === TABLE_ROWS) {
        yield csvRows(rows);
        rows = [];
      }
    }
    if (rows.length) yield csvRows(rows);
    return;
  }
  yield `A: ${printable(v.a.root)} (scanned ${v.a.scannedAt}${v.a.index ? `, index ${printable(v.a.index)}` : ''})\n`;
  yield `B: ${printable(v.b.root)} (scanned ${v.b.scannedAt}${v.b.index ? `, index ${printable(v.b.index)}` : ''})\n`;
  yield `${printable(v.summary.message)}\n`;
  let rows: Array<Array<string | number>> = [];
  const flush = (): string => `${table(['change', 'repository', 'tag', 'digest', 'from → to', 'bytes'], rows)}\n`;
  for (const c of v.changes) {
    rows.push([
      c.kind,
      printable(c.repository ?? ''),
      printable(c.tag ?? c.upload ?? ''),
      shortDigest(c.digest ?? ''),
      c.from !== null || c.to !== null ? printable(shortDigest(`${c.from ?? ''} → ${c.to ?? ''}`)) : '',
      c.bytes ?? '',
    ]);
    if (rows.length === TABLE_ROWS) {
      yield flush();
      rows = [];
    }
  }
  if (rows.length) yield flush();
}

function csvRows(rows: Array<Array<string | number | null | undefined>>): string {
  // csv() always writes a header: drop it.
  const out = csv(CSV_HEAD, rows);
  return out.slice(out.indexOf('\n') + 1);
}
