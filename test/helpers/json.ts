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

/** What the tests read of `report --format json`. */
export type RepoState = 'empty' | 'active' | 'untagged' | 'broken';

export interface ReportRepo {
  name: string;
  state: RepoState;
  tags: number;
  revisions: number;
  layerLinks: number;
  uploads: number;
  listedByV2: boolean;
  listedByV3: boolean;
}

export interface Finding {
  kind: string;
  severity: string;
  repository?: string | null;
  path?: string;
  tag?: string;
  digest?: string;
  message: string;
}

export interface ReportJson {
  root: string;
  repositories: ReportRepo[];
  findings: Finding[];
}
