export type Severity = 'error' | 'warning' | 'info';

/** Every finding kind the audit reports (docs/audit.md describes each). */
export const FINDING_KINDS = [
  'empty-repository',
  'invalid-repository-name',
  'dangling-tag',
  'untagged-manifest',
  'missing-manifest-blob',
  'missing-blob',
  'missing-layer-link',
  'dangling-layer-link',
  'unreferenced-layer-link',
  'unreferenced-blob',
  'unreadable-manifest',
  'invalid-link',
  'link-digest-mismatch',
  'stale-upload',
  'debris',
  'unreadable-path',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { error: 0, warning: 1, info: 2 };

/** `K`: the audit's kinds by default; `verify` reports its own (audit/verify.ts) in the same shape. */
export interface Finding<K extends string = FindingKind> {
  kind: K;
  severity: Severity;
  repository: string | null;
  tag?: string;
  digest?: string;
  path?: string;
  bytes?: number;
  message: string;
  /** Set when a part the conclusion depends on could not be read. */
  uncertain?: boolean;
}

/** Deterministic order: severity, kind, repository, tag, digest, path. */
export function compareFindings(a: Finding<string>, b: Finding<string>): number {
  return (
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    cmp(a.kind, b.kind) ||
    cmp(a.repository ?? '', b.repository ?? '') ||
    cmp(a.tag ?? '', b.tag ?? '') ||
    cmp(a.digest ?? '', b.digest ?? '') ||
    cmp(a.path ?? '', b.path ?? '')
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
