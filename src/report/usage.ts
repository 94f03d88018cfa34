/** Output of `usage`: per repository or per tag, plus the totals of blobs/. */
import { describeRepositoryFilter } from '../audit/select.js';
import { UsageError } from '../errors.js';
import type { RepositoryUsageRow, TagUsageRow, UsageTotals } from '../index/usage.js';
import {
  fitText,
  storageHeading,
  csvChunks,
  humanBytes,
  jsonChunks,
  printable,
  shortDigest,
  tableChunks,
  type Format,
} from './format.js';

export type UsageBy = 'repository' | 'tag';
export type UsageRow = RepositoryUsageRow | TagUsageRow;

/** Columns `--sort` accepts; text columns sort ascending, numbers largest first. */
export const USAGE_COLUMNS: Readonly<Record<UsageBy, readonly string[]>> = {
  repository: ['repository', 'tags', 'revisions', 'blobs', 'reachable', 'exclusive', 'shared', 'freed'],
  tag: ['repository', 'tag', 'manifests', 'blobs', 'reachable', 'exclusive', 'shared', 'freed'],
};

const TEXT = new Set(['repository', 'tag']);

/** Sorts by `column` (default freed), ties by repository then tag; keeps the first `top`. */
export function sortUsage<T extends UsageRow>(
  rows: T[],
  by: UsageBy,
  column = 'freed',
  top?: number,
): { sort: string; rows: T[] } {
  if (!USAGE_COLUMNS[by].includes(column)) {
    throw new UsageError(
      `--sort ${JSON.stringify(column)}: not a column of usage by ${by} (${USAGE_COLUMNS[by].join(', ')})`,
    );
  }
  const key = column as keyof T;
  const name = (r: UsageRow): string => `${r.repository}\u0000${'tag' in r ? r.tag : ''}`;
  const byName = (a: UsageRow, b: UsageRow): number => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
  const sorted = [...rows].sort((a, b) => {
    if (TEXT.has(column)) {
      const x = String(a[key]);
      const y = String(b[key]);
      return x < y ? -1 : x > y ? 1 : byName(a, b);
    }
    return Number(b[key]) - Number(a[key]) || byName(a, b);
  });
  return { sort: column, rows: top === undefined ? sorted : sorted.slice(0, top) };
}

export interface UsageView {
  root: string;
  scannedAt: string;
  totals: UsageTotals;
  by: UsageBy;
  sort: string;
  top: number | null;
  /** --repository/--exclude globs when rows are filtered, else null. */
  filter: { repositories: string[]; exclude: string[] } | null;
  rows: UsageRow[];
}

/** The JSON contract of `usage --format json` (documented in the README). */
export function usageJson(v: UsageView): Record<string, unknown> {
  return {
    root: v.root,
    scannedAt: v.scannedAt,
    totals: v.totals,
    by: v.by,
    sort: v.sort,
    top: v.top,
    filter: v.filter,
    [v.by === 'tag' ? 'tags' : 'repositories']: v.rows,
  };
}

const filterWords = (f: { repositories: string[]; exclude: string[] }): string =>
  describeRepositoryFilter({ repositories: f.repositories, exclude: f.exclude });

export function renderUsage(v: UsageView, format: Format): string {
  return [...renderUsageChunks(v, format)].join('');
}

/** The output in the pieces it is written in: rows a batch at a time in every format. */
export function renderUsageChunks(v: UsageView, format: Format): Iterable<string> {
  if (format === 'json') return jsonChunks(usageJson(v), v.by === 'tag' ? 'tags' : 'repositories');
  const cols = USAGE_COLUMNS[v.by];
  const head = v.by === 'tag' ? [...cols.slice(0, 2), 'digest', ...cols.slice(2)] : [...cols];
  const cell = (r: UsageRow, c: string): string | number => (r as unknown as Record<string, string | number>)[c] ?? '';
  if (format === 'csv') {
    const rows = function* (): Generator<Array<string | number>> {
      for (const r of v.rows) yield head.map((c) => cell(r, c));
    };
    return csvChunks(head, rows());
  }
  return usageTable(v, head, cell);
}

function* usageTable(
  v: UsageView,
  head: string[],
  cell: (r: UsageRow, c: string) => string | number,
): Generator<string> {
  const bytesCols = new Set(['reachable', 'exclusive', 'shared', 'freed']);
  const t = v.totals;
  yield `${fitText(
    [
      ...storageHeading(v.root, v.scannedAt),
      `blobs/: ${t.blobs} blobs, ${humanBytes(t.bytes)} (${t.bytes} bytes) = exclusive ${humanBytes(t.exclusiveBytes)} + shared ${humanBytes(t.sharedBytes)} + unreferenced ${humanBytes(t.unreferencedBytes)}`,
      `By ${v.by}, largest ${v.sort} first${v.top !== null ? `, top ${v.top}` : ''}${v.filter ? `, ${filterWords(v.filter)}: only the matching repositories` : ''}:`,
    ].join('\n'),
  )}\n`;
  if (v.rows.length === 0) {
    yield `No ${v.by === 'tag' ? 'tags' : 'repositories'}.\n`;
    return;
  }
  yield* tableChunks(head, function* () {
    for (const r of v.rows)
      yield head.map((c) => {
        const x = cell(r, c);
        if (bytesCols.has(c)) return humanBytes(Number(x));
        if (c === 'digest') return shortDigest(String(x));
        return typeof x === 'string' ? printable(x) : x;
      });
  });
}
