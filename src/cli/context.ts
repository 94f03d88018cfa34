/** What commands may do to the outside world; main.ts provides it, tests may too. */
export interface CommandContext {
  stdout(s: string): void;
  now(): number;
  /** Set by a command to ask main.ts for a non-zero exit without an error. */
  setExitCode(code: number): void;
}
