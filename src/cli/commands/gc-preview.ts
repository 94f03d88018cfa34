import type { Command } from 'commander';
import { GC_SCENARIOS, type GcScenarioId } from '../../gc/scenarios.js';
import {
  excludeOption,
  listOption,
  repositoryOption,
  repositorySelection,
  sessionArgs,
  sessionCommand,
  type SessionCommandOptions,
} from '../options.js';
import { endProgress } from '../progress.js';
import type { CommandContext } from '../context.js';

export function gcPreviewCommand(ctx: CommandContext): Command {
  return sessionCommand(
    'gc-preview',
    'what registry garbage-collect (2.8 / 3.x, with and without --delete-untagged) would delete, remove and break (scans <root> first; without it reads --db)',
  )
    .addOption(
      listOption(
        '--scenario <id>',
        'only these: 2, 2-m (2.8 --delete-untagged), 3, 3-m',
        GC_SCENARIOS.map((s) => s.id),
      ),
    )
    .addOption(repositoryOption())
    .addOption(excludeOption())
    .action(
      async (
        root: string | undefined,
        o: SessionCommandOptions & { scenario?: GcScenarioId[]; repository?: string[]; exclude?: string[] },
      ) => {
        const { runGcPreview } = await import('../../app/gc-preview.js');
        const out = await runGcPreview({
          ...sessionArgs(root, o),
          ...(o.scenario ? { scenarios: o.scenario } : {}),
          selection: repositorySelection(o),
        });
        endProgress(Boolean(o.quiet));
        for (const chunk of out.output) ctx.stdout(chunk);
      },
    );
}
