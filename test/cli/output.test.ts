/**
 * Output that fits: tables fit the terminal (a pseudo-terminal from script(1), or COLUMNS), keep full
 * width when piped; the report is a summary on a terminal and a full list with --details or piped;
 * colour only on a terminal without NO_COLOR; filters; every JSON names its regaudit and schema.
 */
/* eslint-disable no-control-regex -- the tests look for ANSI colour sequences */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fitLine } from '../../src/cli/progress.js';
import { detectTerminal } from '../../src/cli/terminal.js';
import { TOOL_VERSION } from '../../src/version.js';
import { SCHEMA_VERSION } from '../../src/index/migrations/index.js';
import { cliPath, repoRoot, runCli, runCliJson } from '../helpers/cli.js';

const plain = (s: string): string => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
const widest = (s: string): number =>
  Math.max(
    ...plain(s)
      .split('\n')
      .map((l) => [...l].length),
  );

function sample(t: { after(fn: () => void): void }): { root: string; db: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-output-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync('tar', ['-xzf', path.join(repoRoot, 'fixtures/sample-storage.tar.gz'), '-C', dir]);
  assert.equal(r.status, 0);
  const db = path.join(dir, 'i.db');
  assert.equal(runCli(['scan', dir, '--db', db, '-q']).code, 0);
  return { root: dir, db };
}

/** Runs the CLI on a pseudo-terminal of `cols` columns; stdout and stderr both land in the output. */
function onTerminal(args: string[], cols: number, env: NodeJS.ProcessEnv = {}): string {
  const quoted = [process.execPath, cliPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', `stty cols ${cols}; ${quoted}`, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '', COLUMNS: '', ...env },
    timeout: 60_000,
  });
  if (r.error && process.env.CI) throw r.error;
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout;
}

test('tables fit an 80-column terminal and COLUMNS; piped, they keep full width', (t) => {
  const { db } = sample(t);
  for (const cmd of [['report', '--details'], ['gc-preview'], ['usage'], ['prune'], ['usage', '--by', 'tag']]) {
    const out = onTerminal([...cmd, '--db', db], 80);
    assert.ok(widest(out) <= 80, `${cmd.join(' ')} is ${widest(out)} wide:\n${out}`);
    assert.doesNotMatch(plain(out), /├[─┼]+┤\n│[^\n]*\n├/, 'no separator line between rows');
    const narrow = runCli([...cmd, '--db', db], { env: { COLUMNS: '80' } });
    assert.ok(widest(narrow.stdout) <= 80, `${cmd.join(' ')} piped with COLUMNS=80 is ${widest(narrow.stdout)} wide`);
  }
  const piped = runCli(['report', '--db', db], { env: { COLUMNS: '' } });
  assert.ok(widest(piped.stdout) > 100, 'piped without COLUMNS: full width (messages are not wrapped)');
  assert.match(piped.stdout, /┌/);
});

test('report: a summary on a terminal, the full list with --details or piped; colour on a terminal only', (t) => {
  const { db } = sample(t);
  const summary = onTerminal(['report', '--db', db], 80);
  assert.match(plain(summary), /^9 repositories: 5 active, 4 empty$/m);
  assert.match(plain(summary), /^Reclaimable by garbage-collect: 39 B in 1 unreferenced blobs$/m);
  assert.match(plain(summary), /│ warning +│ empty-repository +│ 4 +│/);
  assert.doesNotMatch(plain(summary), /│ repository /, 'no per-repository table in the summary');
  assert.match(summary, /\x1b\[33mwarning\x1b\[0m/, 'severities coloured on a terminal');
  const noColour = onTerminal(['report', '--db', db], 80, { NO_COLOR: '1' });
  assert.doesNotMatch(noColour, /\x1b\[3\dm/);
  const piped = runCli(['report', '--db', db], { env: { NO_COLOR: '' } });
  assert.doesNotMatch(piped.stdout, /\x1b\[/, 'no colour when piped');
  assert.match(piped.stdout, /│ repository /, 'piped: the full list');
  assert.match(plain(onTerminal(['report', '--db', db, '--details'], 80)), /│ repository /);
});

test('report filters: --severity, --repository, --exclude, --top', (t) => {
  const { db } = sample(t);
  const findings = (args: string[]): Array<{ severity: string; repository: string | null; kind: string }> => {
    const r = runCliJson<{ findings: any[] }>(['report', '--db', db, '--format', 'json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.json.findings;
  };
  const all = findings([]);
  assert.ok(all.some((f) => f.severity === 'info'));
  assert.ok(findings(['--severity', 'warning']).every((f) => f.severity !== 'info'));
  const repos = [...new Set(all.map((f) => f.repository).filter((r): r is string => r !== null))].sort();
  const first = repos[0]!;
  const only = findings(['--repository', first]);
  assert.ok(only.length > 0 && only.every((f) => f.repository === first), JSON.stringify(only));
  const without = findings(['--exclude', first]);
  assert.ok(without.every((f) => f.repository !== first));
  assert.equal(without.length, all.length - only.length);
  const top = runCli(['report', '--db', db, '--top', '2'], { env: { COLUMNS: '200' } });
  assert.match(top.stdout, new RegExp(`… and ${all.length - 2} more findings`));
  assert.equal(runCli(['report', '--db', db, '--top', '0']).code, 2);
});

test('every JSON output names its regaudit and schema version', (t) => {
  const { db } = sample(t);
  for (const cmd of [['report'], ['usage'], ['gc-preview'], ['catalog'], ['prune'], ['journal']]) {
    const r = runCliJson<{ regauditVersion: string; schemaVersion: number }>([...cmd, '--db', db, '--format', 'json']);
    assert.equal(r.json.regauditVersion, TOOL_VERSION, cmd[0]);
    assert.equal(r.json.schemaVersion, SCHEMA_VERSION, cmd[0]);
  }
});

test('terminal detection and the progress line', () => {
  assert.deepEqual(detectTerminal({ isTTY: true, columns: 100 }, {}), { width: 100, colour: true });
  assert.deepEqual(detectTerminal({ isTTY: true, columns: 100 }, { COLUMNS: '70', NO_COLOR: '1' }), {
    width: 70,
    colour: false,
  });
  assert.deepEqual(detectTerminal({ isTTY: false }, {}), { width: undefined, colour: false });
  const line = 'scan: 123456 files, 7890 dirs, 12 repositories, 40000 files/s, 12.5 s';
  assert.equal(fitLine(line, 200), line);
  assert.equal([...fitLine(line, 40)].length, 39, 'one column short of the width: never wraps');
  assert.ok(fitLine(line, 40).endsWith('…'));
});

test('a reader that stops early (| head) ends the output quietly: no stack trace, no error line', (t) => {
  const { root, db } = sample(t);
  const quoted = [process.execPath, cliPath, 'report', root, '--db', db, '--format', 'json']
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  // `true` leaves before regaudit writes: every write then meets a closed pipe (EPIPE).
  const r = spawnSync('sh', ['-c', `${quoted} 2>err.txt | true; cat err.txt`], {
    cwd: path.dirname(db),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, '', `stderr of the closed pipe: ${r.stdout}`);
});
