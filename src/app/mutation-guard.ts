import { acquirePruneLock } from '../prune/lock.js';
import { resolveQuarantineDir } from '../prune/quarantine.js';

/**
 * What prune and gc do before their scan (or, from an index, before planning): resolve
 * --quarantine, so a bad DIR fails before anything happens, and with --apply take the storage
 * root's lock, so it covers the scan and the plan as well as their execution.
 */
export class MutationGuard {
  quarantineDir: string | undefined;
  private release: (() => void) | undefined;

  constructor(private readonly o: { apply: boolean; quarantine?: string }) {}

  prepare(v2: string): void {
    this.quarantineDir = this.o.quarantine !== undefined ? resolveQuarantineDir(this.o.quarantine, v2) : undefined;
    if (this.o.apply) this.release = acquirePruneLock(v2);
  }

  releaseLock(): void {
    this.release?.();
  }
}
