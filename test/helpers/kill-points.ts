/**
 * The kill-point driver of the crash tests: a mutating command is killed with SIGKILL right before
 * its 1st, 2nd, … mutating filesystem call (REGAUDIT_CRASH_AT, counted by prune/fsops.ts) until a
 * run gets through; after every kill the storage is checked, the command is rerun without a kill
 * point and must finish, and the result is checked again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import { cliPath, runCliAsync } from './cli.js';

/** Runs `attempt(n)` for n = 1, 2, … (a few at a time) until one completes without being killed; returns how many were killed. */
export async function everyKillPoint(attempt: (n: number) => Promise<boolean>, what = 'the command'): Promise<number> {
  // the runs mostly wait on process start-up and the filesystem: a few more than the cores
  const width = Math.max(3, Math.min(8, os.availableParallelism() * 2));
  for (let base = 1; base < 2000; base += width) {
    const finished = await Promise.all(Array.from({ length: width }, (_, i) => attempt(base + i)));
    const first = finished.indexOf(true);
    if (first >= 0) return base + first - 1;
  }
  throw new Error(`${what} never finished`);
}

export interface KillPointRun {
  /** Label for messages: `prune`, `restore`, `gc`. */
  what: string;
  /** Makes a fresh copy of the storage for kill point `n`; returns its directory (removed afterwards) and the CLI arguments. */
  setup(n: number): { dir: string; args: string[] };
  /** Checks after the run that got through uninterrupted. */
  finished?(n: number): void | Promise<void>;
  /** Checks right after the kill, before the rerun. */
  killed(n: number): void | Promise<void>;
  /** Checks after the rerun finished (exit 0). */
  rerun(n: number): void | Promise<void>;
}

/** Kills `run` before each mutating call in turn, checks, reruns, checks; returns the kill points, in order. */
export async function killAtEveryPoint(run: KillPointRun): Promise<number[]> {
  const killedAt: number[] = [];
  const kills = await everyKillPoint(async (n) => {
    const { dir, args } = run.setup(n);
    const first = await runCliAsync(args, { REGAUDIT_CRASH_AT: String(n) });
    if (first.signal === null) {
      assert.equal(first.code, 0, first.stderr);
      await run.finished?.(n);
      rmSync(dir, { recursive: true, force: true });
      return true;
    }
    assert.equal(first.signal, 'SIGKILL', `${run.what} kill point ${n}: ${first.stderr}`);
    killedAt.push(n);
    await run.killed(n);
    const again = await runCliAsync(args);
    assert.equal(again.code, 0, `${run.what} rerun after kill point ${n}: ${again.stderr}`);
    await run.rerun(n);
    rmSync(dir, { recursive: true, force: true });
    return false;
  }, run.what);
  assert.equal(killedAt.length, kills, 'every attempt before the one that got through was killed');
  return killedAt.sort((a, b) => a - b);
}

/**
 * Where no kill point can be set (requests to a bucket): starts the CLI with `args` and kills it with
 * SIGKILL as soon as `left()`, polled every `pollMs`, is no longer `start` (the run has deleted
 * something), or when it ended by itself; resolves once it is gone.
 */
export async function killOnceItDeletes(
  args: string[],
  env: NodeJS.ProcessEnv,
  left: () => Promise<number>,
  start: number,
  pollMs: number,
): Promise<void> {
  const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let running = true;
  void exited.then(() => (running = false));
  let now = start;
  while (running && now === start) {
    await new Promise((r) => setTimeout(r, pollMs));
    now = await left();
  }
  child.kill('SIGKILL');
  await exited;
}
