import * as fs from 'node:fs';

/**
 * The only filesystem calls prune makes that change anything, behind one seam so tests can
 * count them and stop the process between any two (crash-safety tests).
 */
export interface MutatingFs {
  mkdir(path: string): void;
  rename(from: string, to: string): void;
  rmTree(path: string): void;
  rmdir(path: string): void;
}

export const realFs: MutatingFs = {
  mkdir: (p) => fs.mkdirSync(p),
  rename: (a, b) => fs.renameSync(a, b),
  // rmSync does not follow symbolic links: a link is removed, never its target.
  rmTree: (p) => fs.rmSync(p, { recursive: true, force: true }),
  rmdir: (p) => fs.rmdirSync(p),
};

/**
 * Wraps `inner` so that the process is killed with SIGKILL right before mutating call number
 * REGAUDIT_CRASH_AT (1-based). Only the crash-safety tests set it.
 */
export function crashInjectingFs(inner: MutatingFs, crashAt: number): MutatingFs {
  let calls = 0;
  const gate = (): void => {
    calls++;
    if (calls === crashAt) process.kill(process.pid, 'SIGKILL');
  };
  return {
    mkdir: (p) => (gate(), inner.mkdir(p)),
    rename: (a, b) => (gate(), inner.rename(a, b)),
    rmTree: (p) => (gate(), inner.rmTree(p)),
    rmdir: (p) => (gate(), inner.rmdir(p)),
  };
}
