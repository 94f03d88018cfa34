import { Command, Option } from 'commander';
import { runCatalog } from '../../app/catalog.js';
import { asFormat, dbFileOf, dbOption, formatOption, ScanningCommand, scanSettings } from '../options.js';
import { endProgress, progressReporter } from '../progress.js';
import type { CommandContext } from '../context.js';

export function catalogCommand(ctx: CommandContext): Command {
  return new ScanningCommand('catalog')
    .description(
      "what /v2/_catalog would list, in the registry's own order (scans <root> first; without it reads --db)",
    )
    .argument('[root]', 'storage root to scan first')
    .addOption(dbOption())
    .addOption(formatOption())
    .scanningOptions()
    .addOption(
      new Option('--registry-version <n>', '2: directories with _layers (registry:2); 3: with _manifests (registry:3)')
        .choices(['2', '3'])
        .default('2'),
    )
    .action(
      async (
        root: string | undefined,
        o: { db?: string; format: string; quiet?: boolean; jobs?: string; thorough?: boolean; registryVersion: string },
      ) => {
        const quiet = Boolean(o.quiet);
        const out = await runCatalog({
          ...dbFileOf(o),
          ...(root !== undefined ? { root } : {}),
          format: asFormat(o.format),
          version: o.registryVersion === '3' ? 3 : 2,
          onProgress: progressReporter(quiet),
          ...scanSettings(o),
        });
        endProgress(quiet);
        ctx.stdout(out.output);
      },
    );
}
