import { test } from 'node:test';
import assert from 'node:assert/strict';
import Table from 'cli-table3';
import {
  COMPACT,
  fittedWidths,
  setTerminal,
  paint,
  table,
  tableChunks,
  wrapText,
  type Rows,
} from '../../src/report/format.js';

// eslint-disable-next-line no-control-regex
const visible = (s: string): number => [...s.replace(/\x1b\[[0-9;]*m/g, '')].length;

/** The table as it was drawn before batching: one cli-table3 table of every row, widths its own. */
function singleTable(head: string[], rows: Array<Array<string | number>>, width: number | undefined): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? String(c) : c)));
  const maxLine = (s: string): number => Math.max(...s.split('\n').map(visible));
  const natural = head.map((h, i) => Math.max(visible(h), ...cells.map((r) => maxLine(r[i] ?? ''))));
  const widths = fittedWidths(head, natural, width);
  const fit = (s: string, i: number): string =>
    s
      .split('\n')
      .map((l) => wrapText(l, widths[i]!))
      .join('\n');
  const t = new Table({
    head: head.map((h, i) => fit(h, i)),
    style: { head: [], border: [], compact: true },
    chars: COMPACT,
  });
  for (const r of cells) t.push(r.map((c, i) => fit(c, i)));
  const lines = t.toString().split('\n');
  const headLines = Math.max(...head.map((h, i) => fit(h, i).split('\n').length));
  const rule = lines[0]!.replace('┌', '├').replace('┐', '┤').replace(/┬/g, '┼');
  lines.splice(1 + headLines, 0, rule);
  return lines.map((l) => l.trimEnd()).join('\n');
}

const HEAD = ['severity', 'kind', 'repository', 'where', 'message', 'bytes'];

/** Rows of every shape a report has: coloured words, long paths, spaces to wrap at, wide characters, surrogate pairs, numbers. */
function rows(n: number): Array<Array<string | number>> {
  return Array.from({ length: n }, (_, i) => [
    paint(['error', 'warning', 'info'][i % 3]!),
    i % 5 ? 'untagged-manifest' : 'unreferenced-blob',
    `team-${i % 17}/service-${'x'.repeat(i % 40)}`,
    i % 7 ? `tag v${i} sha256:${(i * 7919).toString(16).padStart(12, '0')}…` : '',
    i % 11
      ? `a message of ${i % 23} words ${'lorem ipsum '.repeat(i % 9)}`.trim()
      : i % 2
        ? 'line one\nline two → 漢字'
        : `a name beyond the BMP 🐳${'𝔵'.repeat(i % 30)} and more words`,
    i * 1024,
  ]);
}

test('tableChunks draws the bytes of one table of every row, a batch at a time', () => {
  for (const colour of [false, true]) {
    setTerminal({ width: undefined, colour });
    try {
      for (const n of [0, 1, 2, 1001]) {
        const all = rows(n);
        for (const width of [undefined, 80, 20]) {
          const want = singleTable(HEAD, all, width);
          for (const batch of n > 2 ? [7, 1000] : [1, 1000]) {
            const chunks = [...tableChunks(HEAD, all, width, batch)];
            assert.equal(chunks.join(''), `${want}\n`, `${n} rows, width ${width}, batch ${batch}, colour ${colour}`);
            if (n > batch) assert.ok(chunks.length > 3, 'drawn in pieces');
          }
          assert.equal(table(HEAD, all, width), want);
        }
      }
    } finally {
      setTerminal({ width: undefined, colour: false });
    }
  }
});

test('tableChunks reads rows from a function as many times as it needs, and wraps to a narrow width', () => {
  const all = rows(1200);
  let calls = 0;
  const again: Rows = () => {
    calls++;
    return all.values();
  };
  const out = [...tableChunks(HEAD, again, 60)].join('');
  assert.equal(out, `${singleTable(HEAD, all, 60)}\n`);
  assert.ok(calls >= 2, 'rows read again after the widths');
  for (const line of out.trimEnd().split('\n')) assert.ok(visible(line) <= 60, `fits 60 columns: ${line}`);
  assert.ok(out.split('\n').length > 1200 + 4, 'long cells wrapped onto more lines');
});
