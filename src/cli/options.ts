import { Command, Option } from 'commander';
import { progressReporter } from './progress.js';
import { readRegistryConfig } from '../app/registry-config.js';
import { UsageError } from '../errors.js';
import { indexCacheDir } from '../index/location.js';
import { FORMATS, type Format } from '../report/format.js';
import { overlayS3Settings, s3Settings, useS3Settings } from '../storage/s3/settings.js';
import type { Selection } from '../audit/select.js';

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

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  // Not Go's: days, because retention is thought of in days (`--older-than 30d`).
  d: 86_400_000,
};

/**
 * A duration in the registry's own Go format (time.ParseDuration: `1h30m`, `168h0m0s`, `90s`,
 * `1.5h`, `0`), plus `d` for days → milliseconds; one usage-error line for anything else.
 */
export function parseDuration(value: string, flag: string): number {
  const bad = (): UsageError =>
    new UsageError(
      `${flag} ${JSON.stringify(value)}: not a duration (Go format, e.g. 0s, 90m, 1h30m, 168h0m0s; or days: 7d)`,
    );
  if (value === '0') return 0;
  if (!/^(\d+(\.\d*)?|\.\d+)[a-zµμ]+/.test(value)) throw bad();
  let total = 0;
  let rest = value;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/.exec(rest);
    if (!m) throw bad();
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (!Number.isFinite(total)) throw bad();
  return total;
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

/**
 * A repeatable option taking one value or a comma list (`--kind a,b --kind c`). Not variadic, so
 * it never swallows the root argument that follows it (`report --kind debris ROOT`).
 */
export function listOption(flags: string, description: string, choices?: readonly string[]): Option {
  const name = flags.split(/[ ,]/)[0]!;
  return new Option(flags, `${description}; repeat or give a comma list`).argParser((v: string, prev?: string[]) => {
    const items = v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    if (items.length === 0) throw new UsageError(`${name} ${JSON.stringify(v)}: give at least one value`);
    for (const x of items)
      if (choices && !choices.includes(x))
        throw new UsageError(`${name} ${JSON.stringify(x)}: not one of ${choices.join(', ')}`);
    return [...(prev ?? []), ...items];
  });
}

export const configOption = (): Option =>
  new Option(
    '--config <config.yml>',
    "find the storage root in the registry's configuration (with its REGISTRY_STORAGE_* environment overrides), instead of giving <root>",
  );

/** The root argument, or the one the registry's --config names; never both. */
export function rootArgument(root: string | undefined, o: { config?: string }): { root?: string } {
  if (o.config === undefined) return root !== undefined ? { root } : {};
  if (root !== undefined)
    throw new UsageError(`give either <root> or --config, not both (${root}, --config ${o.config})`);
  const target = readRegistryConfig(o.config);
  // The bucket's connection from the config, under the command line's --endpoint and --path-style.
  if (target.s3) useS3Settings(overlayS3Settings(target.s3, s3Settings()));
  return { root: target.root };
}

/** The options every command that reads a storage root through a session shares. */
export interface SessionCommandOptions {
  db?: string;
  config?: string;
  format: string;
  quiet?: boolean;
  jobs?: string;
  thorough?: boolean;
}

/** <root> (or --config), --db, --format, --quiet, --jobs, --thorough: one place for all of them. */
export function sessionCommand(name: string, description: string, rootHelp = 'storage root to scan first'): Command {
  return new ScanningCommand(name)
    .description(description)
    .argument('[root]', rootHelp)
    .addOption(dbOption())
    .addOption(configOption())
    .addOption(formatOption())
    .scanningOptions();
}

/** What those options mean to the app layer (a SessionOptions with the format and progress). */
export function sessionArgs(
  root: string | undefined,
  o: SessionCommandOptions,
): {
  dbFile?: string;
  root?: string;
  format: Format;
  onProgress: ReturnType<typeof progressReporter>;
  jobs: number | undefined;
  thorough: boolean;
} {
  return {
    ...dbFileOf(o),
    ...rootArgument(root, o),
    format: asFormat(o.format),
    onProgress: progressReporter(Boolean(o.quiet)),
    ...scanSettings(o),
  };
}

export const repositoryOption = (what = 'only repositories matching this glob'): Option =>
  listOption('--repository <glob>', `${what} (\`*\` stops at \`/\`, \`**\` does not)`);
export const excludeOption = (): Option => listOption('--exclude <glob>', 'leave out repositories matching this glob');
export const severityOption = (): Option =>
  new Option('--severity <level>', 'only findings of this severity or worse').choices(['error', 'warning', 'info']);

/** --repository and --exclude, parsed (the same globs for every command that offers them). */
export function repositorySelection(o: { repository?: string[]; exclude?: string[] }): Selection {
  return {
    ...(o.repository ? { repositories: o.repository } : {}),
    ...(o.exclude ? { exclude: o.exclude } : {}),
  };
}

/** --top N: a positive whole number. */
export function parseTop(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`--top ${JSON.stringify(v)}: not a positive whole number`);
  return Number(v);
}
