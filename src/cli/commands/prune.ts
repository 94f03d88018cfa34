import { Option, type Command } from 'commander';
import {
  excludeOption,
  parseDuration,
  repositoryOption,
  repositorySelection,
  sessionArgs,
  sessionCommand,
  uploadAgeOption,
  type SessionCommandOptions,
} from '../options.js';
import { ExitCode } from '../exit-codes.js';
import { endProgress } from '../progress.js';
import type { CommandContext } from '../context.js';

export function pruneCommand(ctx: CommandContext): Command {
  return sessionCommand(
    'prune',
    'delete empty repositories (dry run unless --apply)',
    'storage root to scan first; without it the plan comes from the newest scan in --db',
  )
    .addOption(new Option('--apply', 'delete; without it nothing on disk changes'))
    .addOption(
      new Option(
        '--quarantine <dir>',
        'with --apply: move the parts into a batch under DIR (restorable) instead of deleting them',
      ),
    )
    .addOption(new Option('--min-age <duration>', 'leave repositories with anything newer than this').default('1h'))
    .addOption(uploadAgeOption())
    .addOption(repositoryOption())
    .addOption(excludeOption())
    .action(
      async (
        root: string | undefined,
        o: SessionCommandOptions & {
          apply?: boolean;
          quarantine?: string;
          minAge: string;
          uploadAge: string;
          repository?: string[];
          exclude?: string[];
        },
      ) => {
        const { runPrune } = await import('../../app/prune.js');
        const out = await runPrune({
          ...sessionArgs(root, o),
          apply: Boolean(o.apply),
          ...(o.quarantine !== undefined ? { quarantine: o.quarantine } : {}),
          ...(ctx.killableDuring ? { aroundApply: ctx.killableDuring } : {}),
          now: ctx.now(),
          minAgeMs: parseDuration(o.minAge, '--min-age'),
          uploadAgeMs: parseDuration(o.uploadAge, '--upload-age'),
          selection: repositorySelection(o),
        });
        endProgress(Boolean(o.quiet));
        ctx.stdout(out.output);
        // Partial failure is not success: a repository left because it could not be read or changed.
        const unread = (out.result?.repositories ?? []).filter(
          (r) => r.action === 'skip' && (r.reason === 'unreadable' || r.reason === 'permission-denied'),
        );
        if (unread.length > 0) {
          ctx.stderr(
            `regaudit: partial: ${unread.length} repositor${unread.length === 1 ? 'y was' : 'ies were'} skipped as unreadable or permission-denied (${unread
              .map((r) => r.name)
              .sort()
              .slice(0, 3)
              .join(', ')}${unread.length > 3 ? ', …' : ''}; exit ${ExitCode.Partial})\n`,
          );
          ctx.setExitCode(ExitCode.Partial);
        }
      },
    );
}
