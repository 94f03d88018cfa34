import { Command, Option } from 'commander';
import { runUsage } from '../../app/usage.js';
import type { UsageBy } from '../../report/usage.js';
import { UsageError } from '../../errors.js';
import { asFormat, dbFileOf, dbOption, formatOption, ScanningCommand, scanSettings } from '../options.js';
import { endProgress, progressReporter } from '../progress.js';
import type { CommandContext } from '../context.js';

function parseTop(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`--top ${JSON.stringify(v)}: not a positive whole number`);
  return Number(v);
}

export function usageCommand(ctx: CommandContext): Command {
  return new ScanningCommand('usage')
    .description(
      'disk usage per repository or tag: reachable, exclusive, shared and freed bytes (scans <root> first; without it reads --db)',
    )
    .argument('[root]', 'storage root to scan first')
    .addOption(dbOption())
    .addOption(formatOption())
    .scanningOptions()
    .addOption(
      new Option('--by <what>', 'one row per repository or per tag')
        .choices(['repository', 'tag'])
        .default('repository'),
    )
    .addOption(new Option('--sort <column>', 'sort by this column (numbers largest first)').default('freed'))
    .addOption(new Option('--top <n>', 'only the first n rows'))
    .action(
      async (
        root: string | undefined,
        o: {
          db?: string;
          format: string;
          quiet?: boolean;
          jobs?: string;
          thorough?: boolean;
          by: UsageBy;
          sort: string;
          top?: string;
        },
      ) => {
        const quiet = Boolean(o.quiet);
        const top = parseTop(o.top);
        const out = await runUsage({
          ...dbFileOf(o),
          ...(root !== undefined ? { root } : {}),
          format: asFormat(o.format),
          by: o.by,
          sort: o.sort,
          ...(top !== undefined ? { top } : {}),
          onProgress: progressReporter(quiet),
          ...scanSettings(o),
        });
        endProgress(quiet);
        ctx.stdout(out.output);
      },
    );
}
