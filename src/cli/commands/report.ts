import { Option, type Command } from 'commander';
import { FINDING_KINDS, type FindingKind, type Severity } from '../../audit/findings.js';
import { ExitCode } from '../exit-codes.js';
import {
  excludeOption,
  listOption,
  parseDuration,
  parseTop,
  repositoryOption,
  repositorySelection,
  severityOption,
  sessionArgs,
  sessionCommand,
  uploadAgeOption,
  type SessionCommandOptions,
} from '../options.js';
import { endProgress } from '../progress.js';
import type { CommandContext } from '../context.js';

export function reportCommand(ctx: CommandContext): Command {
  return sessionCommand('report', 'report repositories and findings (scans <root> first; without it reads --db)')
    .addOption(uploadAgeOption())
    .addOption(listOption('--kind <kind>', 'only findings of these kinds', FINDING_KINDS))
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a finding of this severity or worse exists').choices([
        'error',
        'warning',
        'info',
      ]),
    )
    .addOption(severityOption())
    .addOption(repositoryOption())
    .addOption(excludeOption())
    .addOption(new Option('--top <n>', 'table: list only the first n findings (most severe first)'))
    .addOption(new Option('--details', 'table: list every repository and finding (the default when not on a terminal)'))
    .action(
      async (
        root: string | undefined,
        o: SessionCommandOptions & {
          uploadAge: string;
          kind?: FindingKind[];
          failOn?: Severity;
          severity?: Severity;
          repository?: string[];
          exclude?: string[];
          top?: string;
          details?: boolean;
        },
      ) => {
        const top = parseTop(o.top);
        const { runReport } = await import('../../app/report.js');
        const out = await runReport({
          ...sessionArgs(root, o),
          now: ctx.now(),
          uploadAgeMs: parseDuration(o.uploadAge, '--upload-age'),
          ...(o.kind ? { kinds: o.kind } : {}),
          ...(o.failOn ? { failOn: o.failOn } : {}),
          selection: { ...(o.severity ? { minSeverity: o.severity } : {}), ...repositorySelection(o) },
          // A summary on a terminal; the full list when asked, or piped (scripts keep every line).
          details: Boolean(o.details) || !process.stdout.isTTY || top !== undefined,
          ...(top !== undefined ? { top } : {}),
        });
        endProgress(Boolean(o.quiet));
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
