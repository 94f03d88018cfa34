import { Option, type Command } from 'commander';
import { sessionArgs, sessionCommand, type SessionCommandOptions } from '../options.js';
import { endProgress } from '../progress.js';
import type { CommandContext } from '../context.js';

export function catalogCommand(ctx: CommandContext): Command {
  return sessionCommand(
    'catalog',
    "what /v2/_catalog would list, in the registry's own order (scans <root> first; without it reads --db)",
  )
    .addOption(
      new Option('--registry-version <n>', '2: directories with _layers (registry:2); 3: with _manifests (registry:3)')
        .choices(['2', '3'])
        .default('2'),
    )
    .action(async (root: string | undefined, o: SessionCommandOptions & { registryVersion: string }) => {
      const { runCatalog } = await import('../../app/catalog.js');
      const out = await runCatalog({ ...sessionArgs(root, o), version: o.registryVersion === '3' ? 3 : 2 });
      endProgress(Boolean(o.quiet));
      ctx.stdout(out.output);
    });
}
