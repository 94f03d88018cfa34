import { Option, type Command } from 'commander';
import type { UsageBy } from '../../report/usage.js';
import {
  excludeOption,
  parseTop,
  repositoryOption,
  repositorySelection,
  sessionArgs,
  sessionCommand,
  type SessionCommandOptions,
} from '../options.js';
import { endProgress } from '../progress.js';
import type { CommandContext } from '../context.js';

export function usageCommand(ctx: CommandContext): Command {
  return sessionCommand(
    'usage',
    'disk usage per repository or tag: reachable, exclusive, shared and freed bytes (scans <root> first; without it reads --db)',
  )
    .addOption(
      new Option('--by <what>', 'one row per repository or per tag')
        .choices(['repository', 'tag'])
        .default('repository'),
    )
    .addOption(new Option('--sort <column>', 'sort by this column (numbers largest first)').default('freed'))
    .addOption(new Option('--top <n>', 'only the first n rows'))
    .addOption(repositoryOption())
    .addOption(excludeOption())
    .action(
      async (
        root: string | undefined,
        o: SessionCommandOptions & {
          by: UsageBy;
          sort: string;
          top?: string;
          repository?: string[];
          exclude?: string[];
        },
      ) => {
        const top = parseTop(o.top);
        const { runUsage } = await import('../../app/usage.js');
        const out = await runUsage({
          ...sessionArgs(root, o),
          by: o.by,
          sort: o.sort,
          ...(top !== undefined ? { top } : {}),
          selection: repositorySelection(o),
        });
        endProgress(Boolean(o.quiet));
        for (const chunk of out.output) ctx.stdout(chunk);
      },
    );
}
