import Table from 'cli-table3';
import { stringify } from 'csv-stringify/sync';

export type Format = 'table' | 'json' | 'csv';
export const FORMATS: readonly Format[] = ['table', 'json', 'csv'];

/** A plain table (no colours, so output is the same on a TTY and in a pipe); lines trimmed. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({ head, style: { head: [], border: [] } });
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

/** Names read from disk may hold control characters; never let them reach a terminal raw. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
