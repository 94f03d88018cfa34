/** Filters for what a command shows, pure: severities, repository globs (minimatch: `*` stops at `/`). */
import { minimatch } from 'minimatch';
import { SEVERITY_RANK, type Finding, type Severity } from './findings.js';

export interface Selection {
  /** Only findings at this severity or worse. */
  minSeverity?: Severity;
  /** Only repositories matching one of these globs (findings about no repository, such as blob ones, drop out). */
  repositories?: readonly string[];
  /** Leave out repositories matching one of these globs. */
  exclude?: readonly string[];
}

const matchesAny = (name: string, globs: readonly string[]): boolean =>
  globs.some((g) => minimatch(name, g, { dot: true }));

/** Whether a repository name passes --repository and --exclude. */
export function repositorySelected(name: string, s: Selection): boolean {
  if (s.repositories?.length && !matchesAny(name, s.repositories)) return false;
  return !(s.exclude?.length && matchesAny(name, s.exclude));
}

export function selectFindings(findings: readonly Finding[], s: Selection): Finding[] {
  return findings.filter((f) => {
    if (s.minSeverity !== undefined && SEVERITY_RANK[f.severity] > SEVERITY_RANK[s.minSeverity]) return false;
    if (f.repository === null) return !s.repositories?.length;
    return repositorySelected(f.repository, s);
  });
}
