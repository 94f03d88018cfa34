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

/** Whether --repository or --exclude narrows the view (outputs then say so: never a filtered view posing as the whole). */
export function repositoryFiltered(s: Selection): boolean {
  return Boolean(s.repositories?.length || s.exclude?.length);
}

/** The repository globs as outputs report them (JSON `filter`), or null when nothing is filtered. */
export function repositoryFilterOf(s: Selection): { repositories: string[]; exclude: string[] } | null {
  return repositoryFiltered(s) ? { repositories: [...(s.repositories ?? [])], exclude: [...(s.exclude ?? [])] } : null;
}

/** The filter in words, for a table's heading line. */
export function describeRepositoryFilter(s: Selection): string {
  const parts = [
    ...(s.repositories?.length ? [`--repository ${s.repositories.join(',')}`] : []),
    ...(s.exclude?.length ? [`--exclude ${s.exclude.join(',')}`] : []),
  ];
  return `filtered (${parts.join(' ')})`;
}

export function selectFindings(findings: readonly Finding[], s: Selection): Finding[] {
  return findings.filter((f) => {
    if (s.minSeverity !== undefined && SEVERITY_RANK[f.severity] > SEVERITY_RANK[s.minSeverity]) return false;
    if (f.repository === null) return !s.repositories?.length;
    return repositorySelected(f.repository, s);
  });
}
