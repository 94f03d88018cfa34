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

/** What the tests read of `gc --format json` (a plan, or with `--apply` its result). */
export interface GcJson {
  blocked: unknown[];
  totals: {
    blobs: number;
    blobBytes: number;
    manifests: number;
    layerLinks: number;
    uploads: number;
    repositories: number;
  };
  result?: { bytesFreed: number; done: number; skipped: number };
  batch?: string;
  /** On a bucket: the requests of the apply, by kind. */
  requests?: Record<string, number>;
  items: Array<{ kind: string; path: string; repository?: string; digest?: string; bytes: number; outcome?: string }>;
}

/** What the tests read of `gc-preview --format json`. */
export interface GcPreviewJson {
  scenarios: Array<{
    id: string;
    outcome: string;
    issues: Array<{ effect: string; repository: string | null; message: string }>;
    blobs: { count: number; bytes: number; items: Array<{ digest: string; size: number }> };
    manifests: { items: Array<{ repository: string; digest: string }> };
    brokenTags: Array<{ repository: string; tag: string; deletedManifests: string[] }>;
  }>;
}

/** What the tests read of `verify --format json`. */
export interface VerifyJson {
  totals: { blobs: number; hashed: number; unchanged: number; ok: number; corrupt: number; unreadable: number };
  scope: {
    sample: { percent: number; blobs: number; of: number } | null;
    filter: { repositories: string[]; exclude: string[] } | null;
  };
  findings: Array<{ kind: string; severity: string; digest: string; message: string }>;
}

/** One change of `diff --format json`. */
export interface DiffChange {
  kind: string;
  repository: string | null;
  tag: string | null;
  digest: string | null;
  from: unknown;
  to: unknown;
  bytes: number | null;
}

/** What the tests read of `diff --format json`. */
export interface DiffJson {
  a: { root: string; scannedAt: string };
  b: { root: string; scannedAt: string };
  summary: { holdsEverything: boolean; identical: boolean; unpullableTags: string[]; message: string };
  changes: DiffChange[];
}
