import { runCliJson } from './cli.js';

/** `regaudit verify <root> --db <db> --format json [extra...]`, parsed. */
export function verifyJson<T>(root: string, db: string, ...extra: string[]): { code: number; json: T; stderr: string } {
  return runCliJson<T>(['verify', root, '--db', db, '--format', 'json', ...extra]);
}

/** `regaudit diff <a> <b> --db <db> --format json [extra...]`, parsed. */
export function diffJson<T>(
  a: string,
  b: string,
  db: string,
  ...extra: string[]
): { code: number; json: T; stderr: string } {
  return runCliJson<T>(['diff', a, b, '--db', db, '--format', 'json', ...extra]);
}
