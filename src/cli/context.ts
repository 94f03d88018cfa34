/** What commands may do to the outside world; main.ts provides it, tests may too. */
export interface CommandContext {
  stdout(s: string): void;
  /** One-line notices (a partial result); errors are thrown instead. */
  stderr(s: string): void;
  now(): number;
  /** Set by a command to ask main.ts for a non-zero exit without an error. */
  setExitCode(code: number): void;
  /**
   * Runs synchronous work that changes storage with the default SIGINT/SIGTERM behaviour: the
   * process ends at once, between two atomic steps (every such step is ordered so a rerun finishes
   * the job). Elsewhere main.ts turns those signals into one stderr line and exit 130/143.
   */
  killableDuring?: <T>(fn: () => T) => T;
}
