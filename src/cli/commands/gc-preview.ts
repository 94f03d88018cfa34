import { Command, Option } from 'commander';
import { runGcPreview } from '../../app/gc-preview.js';
import { GC_SCENARIOS, type GcScenarioId } from '../../gc/scenarios.js';
import { asFormat, dbFileOf, dbOption, formatOption, ScanningCommand, scanSettings } from '../options.js';
import { endProgress, progressReporter } from '../progress.js';
import type { CommandContext } from '../context.js';

export function gcPreviewCommand(ctx: CommandContext): Command {
  return new ScanningCommand('gc-preview')
    .description(
      'what registry garbage-collect (2.8 / 3.x, with and without --delete-untagged) would delete, remove and break (scans <root> first; without it reads --db)',
    )
    .argument('[root]', 'storage root to scan first')
    .addOption(dbOption())
    .addOption(formatOption())
    .scanningOptions()
    .addOption(
      new Option('--scenario <id...>', 'only these: 2, 2-m (2.8 --delete-untagged), 3, 3-m').choices(
        GC_SCENARIOS.map((s) => s.id),
      ),
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
          scenario?: GcScenarioId[];
        },
      ) => {
        const quiet = Boolean(o.quiet);
        const out = await runGcPreview({
          ...dbFileOf(o),
          ...(root !== undefined ? { root } : {}),
          format: asFormat(o.format),
          ...(o.scenario ? { scenarios: o.scenario } : {}),
          onProgress: progressReporter(quiet),
          ...scanSettings(o),
        });
        endProgress(quiet);
        ctx.stdout(out.output);
      },
    );
}
