import { Command, Option } from 'commander';
import type { Severity } from '../../audit/findings.js';
import { UsageError } from '../../errors.js';
import { byteProgressReporter } from '../byte-progress.js';
import { ExitCode } from '../exit-codes.js';
import {
  asFormat,
  dbFileOf,
  dbOption,
  formatOption,
  parseDuration,
  excludeOption,
  repositoryOption,
  repositorySelection,
  scanSettings,
  ScanningCommand,
} from '../options.js';
import { endProgress, progressReporter } from '../progress.js';
import type { CommandContext } from '../context.js';

function parsePercent(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0 && n <= 100))
    throw new UsageError(`--sample ${JSON.stringify(v)}: not a percentage above 0 and at most 100`);
  return n;
}

function parseWhole(v: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`${flag} ${JSON.stringify(v)}: not a whole number from ${min} to ${max}`);
  return Number(v);
}

export function verifyCommand(ctx: CommandContext): Command {
  return new ScanningCommand('verify')
    .description(
      "re-hash blobs and compare with their digests (scans <root> first; without it reads --db's newest scan)",
    )
    .argument('[root]', 'storage root to scan first')
    .addOption(dbOption())
    .addOption(formatOption())
    .scanningOptions()
    .addOption(new Option('--all', 'hash every blob in scope, not only new, changed or failed ones'))
    .addOption(new Option('--older-than <duration>', 'also re-hash blobs verified longer ago than this (a scrub)'))
    .addOption(repositoryOption('only blobs the repositories matching this glob reference'))
    .addOption(excludeOption())
    .addOption(new Option('--sample <percent>', 'only a seeded random subset of about this percentage of the blobs'))
    .addOption(new Option('--seed <n>', 'seed of --sample').default('1'))
    .addOption(new Option('--threads <n>', 'hashing threads (default: one per core)'))
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a finding of this severity or worse exists').choices([
        'error',
        'warning',
        'info',
      ]),
    )
    .action(
      async (
        root: string | undefined,
        o: {
          db?: string;
          format: string;
          quiet?: boolean;
          jobs?: string;
          thorough?: boolean;
          all?: boolean;
          olderThan?: string;
          repository?: string[];
          exclude?: string[];
          sample?: string;
          seed: string;
          threads?: string;
          failOn?: Severity;
        },
      ) => {
        const quiet = Boolean(o.quiet);
        const sample =
          o.sample !== undefined
            ? { percent: parsePercent(o.sample), seed: parseWhole(o.seed, '--seed', 0, 2 ** 31) }
            : undefined;
        const { runVerify } = await import('../../app/verify.js');
        const out = await runVerify({
          ...dbFileOf(o),
          ...(root !== undefined ? { root } : {}),
          format: asFormat(o.format),
          now: () => ctx.now(),
          all: Boolean(o.all),
          ...(o.olderThan !== undefined ? { olderThanMs: parseDuration(o.olderThan, '--older-than') } : {}),
          selection: repositorySelection(o),
          ...(sample ? { sample } : {}),
          ...(o.threads !== undefined ? { threads: parseWhole(o.threads, '--threads', 1, 256) } : {}),
          ...(o.failOn ? { failOn: o.failOn } : {}),
          onProgress: progressReporter(quiet),
          onHashProgress: byteProgressReporter(quiet, 'verify'),
          ...scanSettings(o),
        });
        endProgress(quiet);
        ctx.stdout(out.output);
        if (out.failed) ctx.setExitCode(ExitCode.Findings);
      },
    );
}
