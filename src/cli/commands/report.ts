import { Command, Option } from 'commander';
import { runReport } from '../../app/report.js';
import { FINDING_KINDS, type Severity } from '../../audit/findings.js';
import { ExitCode } from '../exit-codes.js';
import {
  asFormat,
  dbOption,
  formatOption,
  parseDuration,
  jobsOption,
  scanSettings,
  thoroughOption,
  quietOption,
  uploadAgeOption,
} from '../options.js';
import { endProgress, progressReporter } from '../progress.js';
import type { CommandContext } from '../context.js';

export function reportCommand(ctx: CommandContext): Command {
  return new Command('report')
    .description('report repositories and findings (scans <root> first; without it reads --db)')
    .argument('[root]', 'storage root to scan first')
    .addOption(dbOption())
    .addOption(formatOption())
    .addOption(quietOption())
    .addOption(jobsOption())
    .addOption(thoroughOption())
    .addOption(uploadAgeOption())
    .addOption(new Option('--kind <kind...>', 'only findings of these kinds').choices(FINDING_KINDS))
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
          db: string;
          format: string;
          quiet?: boolean;
          jobs?: string;
          thorough?: boolean;
          uploadAge: string;
          kind?: string[];
          failOn?: Severity;
        },
      ) => {
        const quiet = Boolean(o.quiet);
        const out = await runReport({
          dbFile: o.db,
          ...(root !== undefined ? { root } : {}),
          format: asFormat(o.format),
          now: ctx.now(),
          uploadAgeMs: parseDuration(o.uploadAge, '--upload-age'),
          ...(o.kind ? { kinds: o.kind } : {}),
          ...(o.failOn ? { failOn: o.failOn } : {}),
          onProgress: progressReporter(quiet),
          ...scanSettings(o),
        });
        endProgress(quiet);
        for (const chunk of out.output) ctx.stdout(chunk);
        if (out.unreadable > 0) {
          ctx.stderr(
            `regaudit: partial: ${out.unreadable} path${out.unreadable === 1 ? '' : 's'} could not be read; findings that depend on them are uncertain (exit ${ExitCode.Partial})\n`,
          );
          ctx.setExitCode(ExitCode.Partial);
        } else if (out.failed) ctx.setExitCode(ExitCode.Findings);
      },
    );
}
