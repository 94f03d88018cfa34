import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (npm test builds first) and captures its output. */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): CliResult {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    input: opts.input ?? '',
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `regaudit scan <root> --db <db> --quiet`, which must exit 0 (the index the test then reads). */
export function scanInto(root: string, db: string): void {
  const r = runCli(['scan', root, '--db', db, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
}

/** Runs the CLI and parses stdout as JSON; throws with stderr when it is not JSON. */
export function runCliJson<T = any>(
  args: string[],
  opts: Parameters<typeof runCli>[1] = {},
): { code: number; json: T; stderr: string } {
  const r = runCli(args, opts);
  try {
    return { code: r.code, json: JSON.parse(r.stdout) as T, stderr: r.stderr };
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 500)}\nstderr: ${r.stderr.slice(0, 2000)}`);
  }
}

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the built CLI without waiting (it can be signalled mid-run); `done` resolves when it ends. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): { pid: number; done: Promise<CliExit> } {
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const done = new Promise<CliExit>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { pid: child.pid!, done };
}

/** Runs the built CLI as a child that can be killed mid-run (crash tests); resolves when it ends. */
export function runCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliExit> {
  return spawnCli(args, env).done;
}

/**
 * `prune|gc <root> --db <db> --format json [--apply] --min-age A --upload-age A` (A: `0s` unless
 * given), the run the safety tests repeat, with `--jobs`, `--quarantine` and `extra` appended.
 */
export function runArgs(
  command: 'prune' | 'gc',
  root: string,
  db: string,
  opts: { apply?: boolean; age?: string; jobs?: number; quarantine?: string; extra?: string[] } = {},
): string[] {
  const age = opts.age ?? '0s';
  return [
    command,
    root,
    '--db',
    db,
    '--format',
    'json',
    ...(opts.apply ? ['--apply'] : []),
    '--min-age',
    age,
    '--upload-age',
    age,
    ...(opts.jobs === undefined ? [] : ['--jobs', String(opts.jobs)]),
    ...(opts.quarantine ? ['--quarantine', opts.quarantine] : []),
    ...(opts.extra ?? []),
  ];
}
