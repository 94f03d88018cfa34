/** The documented exit codes (README "Exit codes"). */
export const ExitCode = {
  Ok: 0,
  /** Findings at or above --fail-on exist. */
  Findings: 1,
  /** Bad input, unreadable storage, unusable index, lock held: nothing was deleted. */
  Error: 2,
  /**
   * Partial: the command finished, but part of the storage could not be read (report: unreadable-path
   * findings) or prune --apply skipped a repository it could not read. rsync uses 23 the same way.
   */
  Partial: 23,
} as const;
