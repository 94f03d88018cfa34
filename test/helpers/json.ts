/** The `--format json` shapes the tests read (README: "JSON output"), declared once. */

/** One repository of `prune --format json`. */
export interface PruneRepo {
  name: string;
  action: string; // 'delete' | 'skip'
  reason?: string;
  detail?: string;
  deleted: boolean;
  quarantined?: string;
}

/** What the tests read of `prune --format json`. */
export interface PruneJson {
  applied: boolean;
  repositories: PruneRepo[];
  cleanup: Array<{ path: string; done: boolean }>;
  quarantine?: { dir: string; batch: string | null; resumed: boolean };
  journalRun?: number;
}
