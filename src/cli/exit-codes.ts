/** The documented exit codes (README "Exit codes"). */
export const ExitCode = {
  Ok: 0,
  /** Findings at or above --fail-on exist. */
  Findings: 1,
  /** Bad input, unreadable storage, unusable index, lock held: nothing was deleted. */
  Error: 2,
} as const;
