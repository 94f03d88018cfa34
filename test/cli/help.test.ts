/**
 * Help and completion: every command shows examples; the README options table matches the help
 * texts; no `(outputHelp)` line; "Did you mean" is shown whole; `completion bash|zsh`; --format csv
 * everywhere --format is offered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProgram } from '../../src/cli/program.js';
import { cliPath, repoRoot, runCli } from '../helpers/cli.js';

const program = createProgram({ stdout: () => {}, stderr: () => {}, now: () => 0, setExitCode: () => {} });
const commands = program.commands.flatMap((c) =>
  c.commands.length ? c.commands.map((s) => [c.name(), s.name()]) : [[c.name()]],
);

test('every command --help shows two or three examples', () => {
  for (const cmd of commands) {
    const r = runCli([...cmd, '--help']);
    assert.equal(r.code, 0, cmd.join(' '));
    const examples = r.stdout.split('\nExamples:\n')[1];
    assert.ok(examples, `${cmd.join(' ')} has examples`);
    const n = examples.split('\n').filter((l) => l.startsWith('  regaudit ')).length;
    assert.ok(n >= 2 && n <= 3, `${cmd.join(' ')}: ${n} examples`);
  }
});

test('no (outputHelp) line; "Did you mean" whole, on one line', () => {
  const bare = runCli(['quarantine']);
  assert.doesNotMatch(bare.stderr, /outputHelp/);
  assert.match(bare.stdout + bare.stderr, /Usage: regaudit quarantine/);
  const typo = runCli(['reprot']);
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, "regaudit: unknown command 'reprot' (Did you mean report?)\n");
  const opt = runCli(['report', '--detials']);
  assert.match(opt.stderr, /^regaudit: unknown option '--detials' \(Did you mean --details\?\)\n$/);
});

test('the README options table matches the help texts', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `(-\w, )?(--[a-z-]+)[^`]*` \| ([^|]+) \|/gm)].map((m) => ({
    flag: m[2]!,
    commands: m[3]!.split(',').map((s) => s.trim()),
  }));
  assert.ok(rows.length > 10);
  const documented = new Set<string>();
  // "every command with a root": a <root> argument, or restore's --root.
  const withRoot = program.commands
    .filter((c) => c.registeredArguments.some((a) => a.name() === 'root') || c.options.some((o) => o.long === '--root'))
    .map((c) => c.name());
  for (const { flag, commands: listed } of rows) {
    const cmds = listed.flatMap((c) => (c === 'every command with a root' ? withRoot : [c]));
    for (const c of cmds) {
      const sub = program.commands.find((x) => x.name() === c.split(' ')[0]);
      const target = c.includes(' ') ? sub?.commands.find((x) => x.name() === c.split(' ')[1]) : sub;
      assert.ok(target, `README names command ${c}`);
      assert.ok(
        target.options.some((o) => o.long === flag),
        `README says ${c} takes ${flag}; its help does not list it`,
      );
      documented.add(`${c} ${flag}`);
    }
  }
  for (const c of program.commands)
    for (const t of c.commands.length ? c.commands : [c])
      for (const o of t.options)
        if (!o.hidden && o.long && o.long !== '--help') {
          const name = t === c ? c.name() : `${c.name()} ${t.name()}`;
          assert.ok(documented.has(`${name} ${o.long}`), `${name} ${o.long} is missing from the README options table`);
        }
});

test('completion bash and zsh', () => {
  const bash = runCli(['completion', 'bash']);
  assert.equal(bash.code, 0);
  const complete = (words: string[]): string => {
    const script = `source /dev/stdin <<'EOF'\n${bash.stdout}\nEOF\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _regaudit; echo "\${COMPREPLY[*]}"`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  assert.equal(complete(['regaudit', 'rep']), 'report');
  assert.match(complete(['regaudit', 'report', '--de']), /--details/);
  assert.equal(complete(['regaudit', 'report', '--format', 'c']), 'csv');
  assert.equal(complete(['regaudit', 'quarantine', 'pu']), 'purge');
  assert.match(complete(['regaudit', 'quarantine', 'purge', '--a']), /--apply/);
  const zsh = runCli(['completion', 'zsh']);
  assert.match(zsh.stdout, /bashcompinit/);
  assert.match(zsh.stdout, /complete -o filenames -F _regaudit regaudit/);
  assert.equal(runCli(['completion', 'fish']).code, 2);
  assert.ok(cliPath);
});

test('--format csv wherever --format is offered', () => {
  const csvCommands = commands.filter((cmd) => {
    const r = runCli([...cmd, '--help']);
    return /--format <format>/.test(r.stdout);
  });
  assert.ok(csvCommands.length >= 8, csvCommands.join(';'));
  for (const cmd of csvCommands) {
    const help = runCli([...cmd, '--help']).stdout;
    if (/"csv"/.test(help)) continue;
    // Not offered: then rejected in one line, never silently ignored.
    const r = runCli([...cmd, '--format', 'csv']);
    assert.equal(r.code, 2, `${cmd.join(' ')} neither offers nor rejects csv`);
    assert.match(r.stderr, /^regaudit: option '--format <format>' argument 'csv' is invalid/);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-csv-'));
  try {
    const db = path.join(dir, 'i.db');
    mkdirSync(path.join(dir, 'docker/registry/v2/repositories'), { recursive: true });
    const scan = runCli(['scan', dir, '--db', db, '-q']);
    assert.equal(scan.code, 0, scan.stderr);
    const journal = runCli(['journal', '--db', db, '--format', 'csv']);
    assert.equal(journal.stdout, 'run,started,mode,status,planned,done,version,quarantine,root\n');
    const qdir = path.join(dir, 'q');
    mkdirSync(qdir);
    const list = runCli(['quarantine', 'list', qdir, '--format', 'csv']);
    assert.equal(list.stdout, 'batch,status,created,repositories,files,size,root\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
