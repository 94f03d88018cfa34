import type { Command } from 'commander';

/** Two or three examples per command, shown at the end of its --help. */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  scan: [
    'regaudit scan /var/lib/registry',
    'regaudit scan --config /etc/docker/registry/config.yml --db /tmp/r.db',
    'regaudit scan /var/lib/registry --thorough -j 4',
  ],
  report: [
    'regaudit report /var/lib/registry                  # summary on a terminal',
    'regaudit report --details --severity warning --repository "library/*"',
    'regaudit report --format json --kind unreferenced-blob,stale-upload > findings.json',
  ],
  usage: [
    'regaudit usage /var/lib/registry --top 10',
    'regaudit usage --by tag --sort exclusive --format csv > tags.csv',
  ],
  'gc-preview': ['regaudit gc-preview /var/lib/registry', 'regaudit gc-preview --scenario 2,2-m --format json'],
  catalog: ['regaudit catalog /var/lib/registry', 'regaudit catalog --registry-version 3 --format json'],
  prune: [
    'regaudit prune /var/lib/registry                   # dry run: what would be deleted, and why',
    'regaudit prune /var/lib/registry --apply --quarantine /srv/quarantine',
    'regaudit prune --config /etc/docker/registry/config.yml --min-age 168h0m0s --apply',
  ],
  restore: [
    'regaudit restore /srv/quarantine/<batch>',
    'regaudit restore /srv/quarantine/<batch> --root /var/lib/registry',
  ],
  quarantine: [
    'regaudit quarantine list /srv/quarantine',
    'regaudit quarantine purge /srv/quarantine --older-than 30d --apply',
  ],
  list: ['regaudit quarantine list /srv/quarantine', 'regaudit quarantine list /srv/quarantine --format json'],
  purge: [
    'regaudit quarantine purge /srv/quarantine --older-than 30d            # dry run',
    'regaudit quarantine purge /srv/quarantine --older-than 720h --apply',
  ],
  gc: [
    'regaudit gc /var/lib/registry                      # dry run: the plan, per repository and in total',
    'regaudit gc /var/lib/registry --apply --quarantine /srv/quarantine',
    'regaudit gc /var/lib/registry --delete-untagged --format json > plan.json',
  ],
  verify: [
    'regaudit verify /var/lib/registry --fail-on error',
    'regaudit verify /srv/restored --older-than 30d     # a scrub',
    "regaudit verify /srv/restored --repository 'team/*' --sample 5",
  ],
  diff: [
    'regaudit diff /var/lib/registry /mnt/backup/registry --fail-on missing',
    'regaudit diff before.db after.db --format json',
  ],
  journal: ['regaudit journal', 'regaudit journal --run 3 --format csv'],
  completion: [
    'regaudit completion bash > /etc/bash_completion.d/regaudit',
    'regaudit completion zsh > ~/.regaudit.zsh          # then in ~/.zshrc: source ~/.regaudit.zsh',
  ],
};

/** Adds the examples to a command and its subcommands (a command without examples gets none). */
export function addExamples(cmd: Command): void {
  const examples = EXAMPLES[cmd.name()];
  if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n`);
  for (const sub of cmd.commands) addExamples(sub);
}
