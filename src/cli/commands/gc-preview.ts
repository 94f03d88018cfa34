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
        // Written while the index is open: the scenarios' lists are read from it as they are written.
        let started = false;
        await runGcPreview({
          ...sessionArgs(root, o),
          ...(o.scenario ? { scenarios: o.scenario } : {}),
          selection: repositorySelection(o),
          write: (chunk) => {
            if (!started) endProgress(Boolean(o.quiet));
            started = true;
            ctx.stdout(chunk);
          },
        });
        if (!started) endProgress(Boolean(o.quiet));
      },
    );
}
