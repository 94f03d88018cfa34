import { Command, Option } from 'commander';
import ms from 'ms';
import { UsageError } from '../errors.js';
import { indexCacheDir } from '../index/location.js';
import { FORMATS, type Format } from '../report/format.js';

/** --db, else $REGAUDIT_DB, else the storage root's file in the cache directory (help names it). */
export const dbOption = (): Option =>
  new Option(
    '--db <file>',
    `index file (default: one per storage root in ${indexCacheDir()}/; without a root, the only one there)`,
  ).env('REGAUDIT_DB');

/** The index file the user named (--db or REGAUDIT_DB), as a use case option; none: the default location. */
export function dbFileOf(o: { db?: string }): { dbFile?: string } {
  if (o.db === undefined) return {};
  if (o.db === '') throw new UsageError('--db (or REGAUDIT_DB) is empty: name an index file, or unset it');
  return { dbFile: o.db };
}
export const formatOption = (): Option =>
  new Option('--format <format>', 'output format').choices(FORMATS).default('table');
export const quietOption = (): Option => new Option('-q, --quiet', 'no progress on stderr');
export const uploadAgeOption = (): Option =>
  new Option('--upload-age <duration>', 'uploads older than this are stale (the registry purges at 168h)').default(
    '168h',
  );

/** "90s", "1h", "30d" → milliseconds; a clear usage error otherwise. */
export function parseDuration(value: string, flag: string): number {
  const v = /^\d+$/.test(value) ? Number.NaN : ms(value as ms.StringValue);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new UsageError(`${flag} ${JSON.stringify(value)}: not a duration (use e.g. 0s, 90m, 1h, 7d)`);
  }
  return v;
}

export function asFormat(v: string): Format {
  return v as Format;
}

export const jobsOption = (): Option =>
  new Option('-j, --jobs <n>', 'scan worker threads (0: walk in the main thread; default: 2 per core, 2 to 4)');

export const thoroughOption = (): Option =>
  new Option(
    '--thorough',
    'scan: also list every link and blob directory, to report stray and temporary files beside link and data files',
  );

/** A command that scans a root first: `.scanningOptions()` declares its --quiet, --jobs and --thorough once. */
export class ScanningCommand extends Command {
  scanningOptions(): this {
    return this.addOption(quietOption()).addOption(jobsOption()).addOption(thoroughOption());
  }
}

/** How a command that scans walks the root: its --jobs and --thorough, parsed. */
export function scanSettings(o: { jobs?: string; thorough?: boolean }): {
  jobs: number | undefined;
  thorough: boolean;
} {
  return { jobs: parseJobs(o.jobs), thorough: Boolean(o.thorough) };
}

/** undefined → the default; otherwise a whole number 0..64. */
export function parseJobs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > 64)
    throw new UsageError(`--jobs ${JSON.stringify(v)}: not a whole number from 0 to 64`);
  return Number(v);
}
