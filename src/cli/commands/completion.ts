import { Argument, Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Every command path (`quarantine purge`) with its long options, from the program itself. */
function commandTable(program: Command): Array<{ path: string; options: string[] }> {
  const out: Array<{ path: string; options: string[] }> = [];
  const walk = (cmd: Command, prefix: string): void => {
    for (const sub of cmd.commands) {
      const path = prefix ? `${prefix} ${sub.name()}` : sub.name();
      const options = sub.options.filter((o) => !o.hidden && o.long).map((o) => o.long!);
      out.push({ path, options: [...options, '--help'].sort() });
      walk(sub, path);
    }
  };
  walk(program, '');
  return out;
}

/** A bash completion function: commands, then each command's options and its choices, else file names. */
export function bashCompletion(program: Command): string {
  const table = commandTable(program);
  const top = program.commands.map((c) => c.name()).join(' ');
  const cases = table
    .map(({ path, options }) => {
      const subs = program.commands.find((c) => c.name() === path)?.commands.map((c) => c.name()) ?? [];
      return `    "${path}") opts="${[...options, ...subs].join(' ')}" ;;`;
    })
    .join('\n');
  const choices = new Map<string, string[]>();
  const collect = (cmd: Command): void => {
    for (const o of cmd.options) if (o.long && o.argChoices) choices.set(o.long, o.argChoices);
    for (const sub of cmd.commands) collect(sub);
  };
  collect(program);
  const choiceCases = [...choices]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([flag, values]) => `    ${flag}) COMPREPLY=( $(compgen -W "${values.join(' ')}" -- "$cur") ); return ;;`)
    .join('\n');
  return `# regaudit completion for bash: source <(regaudit completion bash)
_regaudit() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" opts="" i
  case "$prev" in
${choiceCases}
  esac
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${top} --help --version" -- "$cur") ); return
  fi
  path="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -gt 2 ] && [ "\${COMP_WORDS[1]}" = quarantine ]; then path="quarantine \${COMP_WORDS[2]}"; fi
  case "$path" in
${cases}
  esac
  if [[ "$cur" == -* || ( "\${COMP_WORDS[1]}" == quarantine && "$COMP_CWORD" -eq 2 ) ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _regaudit regaudit
`;
}

/** zsh runs the bash function through bashcompinit (part of zsh). */
export function zshCompletion(program: Command): string {
  return `# regaudit completion for zsh: source <(regaudit completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).replace(/^# .*\n/, '')}`;
}

export function completionCommand(ctx: CommandContext): Command {
  return new Command('completion')
    .description('print a shell completion script (bash or zsh)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh', _o: unknown, cmd: Command) => {
      const program = cmd.parent!;
      ctx.stdout(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
