/**
 * `regaudit <command> ...` defines only that command (start-up cost); help, completion and anything
 * else define them all. Each name in the table must be its command's own name, or the command asked
 * for would not be found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_NAMES, createProgram } from '../../src/cli/program.js';
import { runCli } from '../helpers/cli.js';

const ctx = { stdout: () => {}, stderr: () => {}, now: () => 0, setExitCode: () => {} };
const names = (argv: string[]): string[] =>
  createProgram(ctx, ['node', 'regaudit', ...argv]).commands.map((c) => c.name());

test('a named command alone; every command otherwise, in help order', () => {
  assert.deepEqual(names([]), COMMAND_NAMES);
  assert.equal(COMMAND_NAMES.length, 13);
  for (const name of COMMAND_NAMES)
    assert.deepEqual(names([name, '--help']), name === 'completion' ? COMMAND_NAMES : [name], name);
  for (const argv of [['help', 'verify'], ['--help'], ['--version'], ['reprot'], ['--db', 'x', 'report']])
    assert.deepEqual(names(argv), COMMAND_NAMES, argv.join(' '));
});

test('the built CLI: a command, its help and a misspelt one behave as with every command defined', () => {
  const help = runCli(['verify', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: regaudit verify \[options\] \[root\]\n/);
  const viaHelp = runCli(['help', 'verify']);
  assert.equal(viaHelp.stdout, help.stdout);
  const typo = runCli(['verify', '--al']);
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, "regaudit: unknown option '--al' (Did you mean --all?)\n");
  const completion = runCli(['completion', 'bash']);
  assert.equal(completion.code, 0);
  for (const name of COMMAND_NAMES) assert.match(completion.stdout, new RegExp(`"${name}"\\)`), name);
});
