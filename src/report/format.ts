import Table from 'cli-table3';
// cli-table3's own width measure (string-width, colours ignored), so fixed widths equal the ones it computes.
import { strlen as cellWidth } from 'cli-table3/src/utils.js';
import { SCHEMA_VERSION } from '../index/migrations/index.js';
import { TOOL_VERSION } from '../version.js';
import { lazyModule } from '../lazy-module.js';

const csvStringify = lazyModule<typeof import('csv-stringify/sync')>('csv-stringify/sync');

export type Format = 'table' | 'json' | 'csv';
export const FORMATS: readonly Format[] = ['table', 'json', 'csv'];

/** Where tables go: set once by the CLI entry (cli/main.ts); renderers called elsewhere get full width, no colour. */
export interface Terminal {
  /** Columns a table may take; undefined: unlimited (piped to a file). */
  width: number | undefined;
  /** ANSI colours for severities and states (a terminal, and NO_COLOR unset). */
  colour: boolean;
}

const terminal: Terminal = { width: undefined, colour: false };

export function setTerminal(t: Terminal): void {
  terminal.width = t.width;
  terminal.colour = t.colour;
}

export function terminalWidth(): number | undefined {
  return terminal.width;
}

const COLOURS: Readonly<Record<string, number>> = {
  error: 31,
  warning: 33,
  info: 36,
  empty: 33,
  live: 32,
  broken: 31,
  uncertain: 33,
  aborts: 31,
  runs: 32,
};

/** A severity, state or outcome, coloured on a terminal; plain otherwise. */
export function paint(word: string): string {
  const c = COLOURS[word];
  return terminal.colour && c !== undefined ? `\x1b[${c}m${word}\x1b[0m` : word;
}

/** Colour codes or surrogate pairs: without either, a string's columns are its length (tables count every cell thrice). */
// eslint-disable-next-line no-control-regex
const NOT_PLAIN_LENGTH = /[\x1b\ud800-\udfff]/;
const visible = (s: string): number =>
  // eslint-disable-next-line no-control-regex
  NOT_PLAIN_LENGTH.test(s) ? [...s.replace(/\x1b\[[0-9;]*m/g, '')].length : s.length;

/** Wraps text to `width` columns at spaces, breaking longer words; lines joined by \n. */
export function wrapText(text: string, width: number): string {
  if (width < 1 || visible(text) <= width) return text;
  const out: string[] = [];
  let line = '';
  for (let word of text.split(' ')) {
    while (word.length > width) {
      if (line) out.push(line);
      line = '';
      out.push(word.slice(0, width));
      word = word.slice(width);
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      out.push(line);
      line = word;
    }
  }
  if (line) out.push(line);
  return out.join('\n');
}

/**
 * Column widths (content only) that fit `width`: the widest columns give way first, none below
 * its header's longest word or 6 columns. Borders and padding take 3 per column plus 1.
 */
export function fitColumns(natural: number[], mins: number[], width: number): number[] {
  const w = [...natural];
  const budget = width - (3 * w.length + 1);
  let total = w.reduce((a, b) => a + b, 0);
  while (total > budget) {
    let widest = -1;
    for (let i = 0; i < w.length; i++) if (w[i]! > mins[i]! && (widest < 0 || w[i]! > w[widest]!)) widest = i;
    if (widest < 0) break; // cannot shrink further: the table is as narrow as it gets
    w[widest]!--;
    total--;
  }
  return w;
}

/** cli-table3's characters for a compact table: outer borders and column lines, nothing between rows. */
export const COMPACT = {
  top: '─',
  'top-mid': '┬',
  'top-left': '┌',
  'top-right': '┐',
  bottom: '─',
  'bottom-mid': '┴',
  'bottom-left': '└',
  'bottom-right': '┘',
  left: '│',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '│',
  'right-mid': '',
  middle: '│',
};

/**
 * Content widths of a table's columns whose widest cells are `natural` wide: those, or fitted to
 * `width` (see fitColumns), headers kept whole while they can be.
 */
export function fittedWidths(head: string[], natural: number[], width: number | undefined): number[] {
  if (width === undefined) return natural;
  const mins = head.map((h, i) => Math.min(natural[i]!, Math.max(6, ...h.split(' ').map((x) => x.length))));
  const widths = fitColumns(natural, mins, width);
  if (widths.reduce((a, b) => a + b, 3 * widths.length + 1) <= width) return widths;
  // Still too wide with whole header words: let headers break too, down to 4 columns each.
  return fitColumns(
    natural,
    natural.map((n) => Math.min(n, 4)),
    width,
  );
}

type Cell = string | number;

/**
 * The rows of a table: an array, or a function that yields them afresh on every call. A table reads
 * its rows three times (natural widths, fitted widths, lines), so a function lets a caller derive
 * the cells of 50k findings as they are needed instead of holding them all.
 */
export type Rows = ReadonlyArray<ReadonlyArray<Cell>> | (() => Iterable<ReadonlyArray<Cell>>);

/**
 * Rows drawn and written together: cli-table3's layout work grows faster than the rows it is given,
 * and a short-lived batch leaves little for the heap to keep (COLUMNS=80 `report` on large: 291 MB
 * peak with 250 rows, 205 MB with 64).
 */
export const TABLE_BATCH = 64;

/**
 * A table with compact borders (no line between rows; a line under the header), fitted to the
 * terminal width by wrapping the widest cells; full width when there is no terminal.
 */
export function table(head: string[], rows: Rows, width = terminal.width): string {
  return [...tableChunks(head, rows, width)].join('').slice(0, -1);
}

/**
 * The same bytes as table(head, rows, width) followed by a newline, a batch of rows at a time: the
 * column widths come from every row first, then each batch is drawn by cli-table3 with those widths
 * fixed, so no string (or cli-table3 layout) of the whole table is ever built.
 */
export function* tableChunks(
  head: string[],
  rows: Rows,
  width = terminal.width,
  batch = TABLE_BATCH,
): Generator<string> {
  const each = typeof rows === 'function' ? rows : (): Iterable<ReadonlyArray<Cell>> => rows;
  const text = (c: Cell | undefined): string => (typeof c === 'number' ? String(c) : (c ?? ''));
  const natural = head.map(visible);
  for (const r of each()) for (let i = 0; i < head.length; i++) natural[i] = Math.max(natural[i]!, maxLine(text(r[i])));
  const widths = fittedWidths(head, natural, width);
  const fit = (s: string, i: number): string =>
    s
      .split('\n')
      .map((l) => wrapText(l, widths[i]!))
      .join('\n');
  const fitRow = (r: ReadonlyArray<Cell>): string[] => r.map((c, i) => fit(text(c), i));
  const fittedHead = head.map((h, i) => fit(h, i));
  // What cli-table3 would make each column (its own measure of the widest fitted cell, padding 1+1).
  const colWidths = fittedHead.map((h) => Math.max(1, measure(h) + 2));
  for (const r of each()) {
    const cells = fitRow(r);
    for (let i = 0; i < cells.length; i++) colWidths[i] = Math.max(colWidths[i] ?? 1, measure(cells[i]!) + 2);
  }
  const draw = (body: string[][]): string[] => {
    const t = new Table({
      head: fittedHead,
      colWidths,
      style: { head: [], border: [], compact: true },
      chars: COMPACT,
    });
    for (const r of body) t.push(r);
    return t.toString().split('\n');
  };
  const lines = (ls: string[]): string => `${ls.map((l) => l.trimEnd()).join('\n')}\n`;
  // compact mode drops every row separator, the header's too: put one back under the header.
  const headLines = Math.max(...fittedHead.map((h) => h.split('\n').length));
  const bare = draw([]);
  const rule = bare[0]!.replace('┌', '├').replace('┐', '┤').replace(/┬/g, '┼');
  yield lines([...bare.slice(0, 1 + headLines), rule]);
  // Every batch is drawn under the header (so cli-table3 lays its rows out as in one table); only
  // the rows' lines are kept.
  // Plain rows (one column a character, no colour) are drawn here as cli-table3 draws them, which
  // measures every line of every cell with a regular expression compiled per call.
  let group: string[][] = [];
  let out = '';
  let n = 0;
  const flush = (): string => {
    const s = out + (group.length > 0 ? lines(draw(group).slice(1 + headLines, -1)) : '');
    group = [];
    out = '';
    n = 0;
    return s;
  };
  for (const r of each()) {
    const cells = fitRow(r);
    if (cells.length === head.length && cells.every((c) => PLAIN.test(c))) {
      if (group.length > 0) out += lines(draw(group).slice(1 + headLines, -1));
      group = [];
      out += plainRow(cells, colWidths);
    } else group.push(cells);
    if (++n === batch) yield flush();
  }
  if (n > 0) yield flush();
  yield lines(bare.slice(-1));
}

/** Text every character of which is one column wide to cli-table3 (string-width), with no escape codes. */
const PLAIN = /^[\x20-\x7e\u2026\u2192\n]*$/;

/** cli-table3's width of a cell: its widest line, in terminal columns. */
function measure(s: string): number {
  if (!PLAIN.test(s)) return cellWidth(s);
  let w = 0;
  for (const l of s.split('\n')) w = Math.max(w, l.length);
  return w;
}

/** The lines cli-table3 draws for a row of plain cells: left-aligned, padded 1+1, as tall as its tallest cell. */
function plainRow(cells: string[], colWidths: number[]): string {
  const split = cells.map((c) => c.split('\n'));
  const height = Math.max(...split.map((l) => l.length));
  let out = '';
  for (let k = 0; k < height; k++) {
    let line = COMPACT.left;
    for (let i = 0; i < split.length; i++)
      line += ` ${(split[i]![k] ?? '').padEnd(colWidths[i]! - 2)} ${i === split.length - 1 ? COMPACT.right : COMPACT.middle}`;
    out += `${line.trimEnd()}\n`;
  }
  return out;
}

function maxLine(s: string): number {
  return Math.max(...s.split('\n').map(visible));
}

export function csv(head: string[], rows: Array<Array<string | number | boolean | null | undefined>>): string {
  return csvRows([head, ...rows]);
}

function csvRows(rows: Array<Array<string | number | boolean | null | undefined>>): string {
  return csvStringify().stringify(rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c)))));
}

/** Every JSON document names the regaudit that wrote it and the index schema it read. */
function stamped(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return { regauditVersion: TOOL_VERSION, schemaVersion: SCHEMA_VERSION, ...value };
}

export function json(value: unknown): string {
  return `${JSON.stringify(stamped(value), null, 2)}\n`;
}

/**
 * Items serialised in one JSON.stringify call (jsonChunks, jsonDocChunks): one native call instead of a
 * stringify and a re-indent per item, and a piece small enough to keep the heap flat (1,000 items a call
 * took `usage --by tag --format json` on the large tree to 150 MB, 256 to 134 MB).
 */
export const JSON_ITEMS_PER_PIECE = 256;

/**
 * The same bytes as json(value), in pieces: the array under `key` (which must be value's last key)
 * is serialised a batch of items at a time, so a report with 100k findings never exists as one
 * 50 MB string (and one 50 MB buffer on its way to stdout). The array may be any iterable (items
 * computed as they are written: the gc plan of a large tree).
 */
export function* jsonChunks(
  unstamped: Record<string, unknown>,
  key: string,
  batch = JSON_ITEMS_PER_PIECE,
): Generator<string> {
  const value = stamped(unstamped) as Record<string, unknown>;
  const items = value[key];
  const keys = Object.keys(value);
  if (!isIterable(items) || keys[keys.length - 1] !== key) {
    yield json(unstamped);
    return;
  }
  const head = JSON.stringify({ ...value, [key]: [] }, null, 2);
  // head ends with `"<key>": []\n}`: leave the array open, then close it after the items.
  let open = false;
  for (const s of itemBatches(items, 1, batch)) {
    yield open ? s : `${head.slice(0, head.length - ']\n}'.length)}${s}`;
    open = true;
  }
  yield open ? '\n  ]\n}\n' : json({ ...unstamped, [key]: [] });
}

const isIterable = (v: unknown): v is Iterable<unknown> => v !== null && typeof v === 'object' && Symbol.iterator in v;

/** The items of an array nested `depth` levels deep, `batch` to a piece, comma-separated; nothing for none. */
function* itemBatches(items: Iterable<unknown>, depth: number, batch = JSON_ITEMS_PER_PIECE): Generator<string> {
  let pending: unknown[] = [];
  let first = true;
  const piece = (): string => {
    const s = `${first ? '' : ','}${arrayItems(pending, depth)}`;
    first = false;
    pending = [];
    return s;
  };
  for (const x of items) if (pending.push(x) === batch) yield piece();
  if (pending.length > 0) yield piece();
}

/**
 * Items as JSON.stringify(…, null, 2) writes them in an array nested `depth` levels deep, without the
 * array's brackets: `\n<2·depth + 2 spaces>a,\n…b`. One native call per batch of items and no
 * re-indent: the items are serialised inside `depth` one-element arrays whose brackets are cut off.
 */
function arrayItems(items: unknown[], depth: number): string {
  let wrapped: unknown = items;
  let open = '[';
  let close = '\n]';
  for (let k = 1; k <= depth; k++) {
    wrapped = [wrapped];
    open += `\n${'  '.repeat(k)}[`;
    close = `\n${'  '.repeat(k)}]${close}`;
  }
  const s = JSON.stringify(wrapped, null, 2);
  return s.slice(open.length, s.length - close.length);
}

/**
 * The same bytes as json(value), in pieces of about `piece` characters: every long array, however
 * deep (the gc-preview's blobs of each scenario), is serialised JSON_ITEMS_PER_PIECE items at a time,
 * so neither the document nor any one of its parts is ever one string. An iterable that is not an
 * array is written as the array of its items, read as they are written (isStream).
 */
export function* jsonDocChunks(value: Record<string, unknown>, piece = 1 << 16): Generator<string> {
  let out = '';
  for (const s of jsonPieces(stamped(value), '')) {
    out += s;
    if (out.length >= piece) {
      yield out;
      out = '';
    }
  }
  yield `${out}\n`;
}

/** Arrays shorter than this are serialised whole, as is anything that holds no longer one. */
const LONG_ARRAY = 64;

/**
 * An iterable that is not an array (nor a string, Map or Set): a list read as it is written, such as
 * gc-preview's lists (GcList), always serialised in pieces. Its items must hold no long arrays.
 */
function isStream(v: unknown): v is Iterable<unknown> {
  return isIterable(v) && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Set);
}

function holdsLongArray(v: unknown): boolean {
  if (isStream(v)) return true;
  if (Array.isArray(v)) return v.length > LONG_ARRAY || v.some(holdsLongArray);
  if (v === null || typeof v !== 'object' || 'toJSON' in v) return false;
  return Object.values(v).some((x) => x !== null && typeof x === 'object' && holdsLongArray(x));
}

/** JSON.stringify(v, null, 2) at indentation `indent`, in pieces (v must not be undefined). */
function* jsonPieces(v: unknown, indent: string): Generator<string> {
  if (!holdsLongArray(v)) {
    yield JSON.stringify(v, null, 2).replace(/\n/g, `\n${indent}`);
    return;
  }
  const inner = `${indent}  `;
  if (isStream(v)) {
    let open = false;
    for (const s of itemBatches(v, indent.length / 2)) {
      yield open ? s : `[${s}`;
      open = true;
    }
    yield open ? `\n${indent}]` : '[]';
    return;
  }
  if (Array.isArray(v)) {
    yield '[';
    for (let i = 0; i < v.length;) {
      // A run of items without long arrays in one stringify (the gc-preview's 800 k blobs on a large
      // tree), a long one on its own, in pieces.
      let end = i;
      while (end < v.length && end - i < JSON_ITEMS_PER_PIECE && !holdsLongArray(v[end])) end++;
      if (end > i) {
        yield `${i ? ',' : ''}${arrayItems(v.slice(i, end), indent.length / 2)}`;
        i = end;
        continue;
      }
      yield `${i ? ',' : ''}\n${inner}`;
      yield* jsonPieces(v[i], inner);
      i++;
    }
    yield `\n${indent}]`;
    return;
  }
  let first = true;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    yield `${first ? '{' : ','}\n${inner}${JSON.stringify(k)}: `;
    first = false;
    yield* jsonPieces(x, inner);
  }
  yield first ? '{}' : `\n${indent}}`;
}

/**
 * Rows a CSV batch holds. csv-stringify leaves garbage per batch that the heap keeps when a batch
 * lives long: 1,000 rows took `gc-preview --format csv` on large to 266 MB, 128 rows to 244 MB.
 */
const CSV_BATCH = 128;

/** The same bytes as csv(head, rows), a batch of rows at a time. */
export function* csvChunks(
  head: string[],
  rows: Iterable<Array<string | number | boolean | null | undefined>>,
  batch = CSV_BATCH,
): Generator<string> {
  yield csv(head, []);
  let group: Array<Array<string | number | boolean | null | undefined>> = [];
  for (const r of rows) {
    group.push(r);
    if (group.length === batch) {
      yield csvRows(group);
      group = [];
    }
  }
  if (group.length > 0) yield csvRows(group);
}

/** Names read from disk may hold control characters; never let them reach a terminal raw. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

/** sha256:<64 hex> → sha256:<12 hex>…, for tables; JSON and CSV keep the full digest. */
export function shortDigest(s: string): string {
  if (!s.includes('sha')) return s;
  return s.replace(/\b(sha256|sha384|sha512):([0-9a-f]{12})[0-9a-f]+/g, '$1:$2…');
}

/** 1536 → "1.5 KiB" (binary units, one decimal). */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** The heading of every storage view: the path on a line of its own (long paths must not widen the text). */
export function storageHeading(root: string, scannedAt: string): string[] {
  return [`Storage: ${printable(root)}`, `Scanned: ${scannedAt}`];
}

/**
 * Table-format text fitted to the terminal: prose lines wrap (continuations indented like the line);
 * table lines, already fitted by table(), are left alone.
 */
export function fitText(text: string, width = terminal.width): string {
  if (width === undefined) return text;
  return text
    .split('\n')
    .map((line) => {
      if (/^[┌│├└]/.test(line) || visible(line) <= width) return line;
      const indent = /^ */.exec(line)![0];
      return wrapText(line.trimStart(), width - indent.length)
        .split('\n')
        .map((l) => indent + l)
        .join('\n');
    })
    .join('\n');
}
