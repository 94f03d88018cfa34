import Table from 'cli-table3';
import { stringify } from 'csv-stringify/sync';

export type Format = 'table' | 'json' | 'csv';
export const FORMATS: readonly Format[] = ['table', 'json', 'csv'];

export interface TableOptions {
  /** Column index → width (with borders); text wraps at word boundaries. */
  wrap?: Readonly<Record<number, number>>;
}

/** A plain table (no colours, so output is the same on a TTY and in a pipe); lines trimmed. */
export function table(head: string[], rows: Array<Array<string | number>>, opts: TableOptions = {}): string {
  const wrap = opts.wrap ?? {};
  const colWidths = head.map((_, i) => wrap[i] ?? null);
  const t = new Table({ head, style: { head: [], border: [] }, ...(opts.wrap ? { colWidths, wordWrap: true } : {}) });
  for (const r of rows) t.push(r.map((c) => (typeof c === 'number' ? String(c) : c)));
  return t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

export function csv(head: string[], rows: Array<Array<string | number | boolean | null | undefined>>): string {
  return stringify([head, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))))]);
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * The same bytes as json(value), in pieces: the array under `key` (which must be value's last key)
 * is serialised a batch of items at a time, so a report with 100k findings never exists as one
 * 50 MB string (and one 50 MB buffer on its way to stdout).
 */
export function* jsonChunks(value: Record<string, unknown>, key: string, batch = 1000): Generator<string> {
  const items = value[key];
  const keys = Object.keys(value);
  if (!Array.isArray(items) || items.length === 0 || keys[keys.length - 1] !== key) {
    yield json(value);
    return;
  }
  const head = JSON.stringify({ ...value, [key]: [] }, null, 2);
  // head ends with `"<key>": []\n}`: open the array instead, then close it after the items.
  yield `${head.slice(0, head.length - '[]\n}'.length)}[\n`;
  for (let i = 0; i < items.length; i += batch) {
    const end = Math.min(i + batch, items.length);
    let out = '';
    for (let j = i; j < end; j++)
      out += `    ${JSON.stringify(items[j], null, 2).replace(/\n/g, '\n    ')}${j < items.length - 1 ? ',' : ''}\n`;
    yield out;
  }
  yield '  ]\n}\n';
}

/** Names read from disk may hold control characters; never let them reach a terminal raw. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

/** sha256:<64 hex> → sha256:<12 hex>…, for tables; JSON and CSV keep the full digest. */
export function shortDigest(s: string): string {
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
