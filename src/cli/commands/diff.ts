import { Command, Option } from 'commander';
import { ExitCode } from '../exit-codes.js';
import { asFormat, dbFileOf, dbOption, formatOption, scanSettings, ScanningCommand } from '../options.js';
import { endProgress, progressReporter } from '../progress.js';
import type { CommandContext } from '../context.js';

export function diffCommand(ctx: CommandContext): Command {
  return new ScanningCommand('diff')
    .description(
      'compare what two storages serve; each of A and B is a storage root (scanned into --db first) or an index file',
    )
    .argument('<A>', 'the original: storage root or index file')
    .argument('<B>', 'the copy: storage root or index file')
    .addOption(dbOption())
    .addOption(formatOption())
    .scanningOptions()
    .addOption(new Option('--uploads', 'compare upload directories too'))
    .addOption(
      new Option('--fail-on <what>', 'exit 1 when B lacks anything of A (missing) or on any change (any)').choices([
        'missing',
        'any',
      ]),
    )
    .action(
      async (
        a: string,
        b: string,
        o: {
          db?: string;
          format: string;
          quiet?: boolean;
          jobs?: string;
          thorough?: boolean;
          uploads?: boolean;
          failOn?: 'missing' | 'any';
        },
      ) => {
        const quiet = Boolean(o.quiet);
        const { runDiff } = await import('../../app/diff.js');
        const out = await runDiff({
          ...dbFileOf(o),
          a,
          b,
          format: asFormat(o.format),
          uploads: Boolean(o.uploads),
          ...(o.failOn ? { failOn: o.failOn } : {}),
          onProgress: progressReporter(quiet),
          ...scanSettings(o),
        });
        endProgress(quiet);
        for (const chunk of out.output) ctx.stdout(chunk);
        if (out.failed) ctx.setExitCode(ExitCode.Findings);
      },
    );
}
