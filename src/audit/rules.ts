/** Audit rules: pure functions from index rows to findings. */
import type { DebrisRow, LinkRow, RepositoryRow, TagRow, UploadRow } from '../index/queries.js';
import { isListed } from '../layout/catalog.js';
import { parseDigest } from '../layout/digest.js';
import { inRepository, type RepoPathSpec } from '../layout/paths.js';
import { compareFindings, type Finding } from './findings.js';
import { graphFindings, type GraphInput } from './graph-rules.js';
import { repositoryState, type RepositoryState } from './state.js';

export interface AuditInput {
  repositories: RepositoryRow[];
  tags: TagRow[];
  badLinks: LinkRow[];
  danglingLayerLinks: LinkRow[];
  revisionsWithoutBlob: LinkRow[];
  uploads: UploadRow[];
  debris: DebrisRow[];
  /** Manifest-graph rows (src/index/graph.ts); absent when the caller needs only the repositories. */
  graph?: GraphInput;
}

export interface AuditOptions {
  now: number;
  /** Uploads older than this are stale (the registry's purger default is 168h). */
  uploadAgeMs: number;
}

export interface RepositoryReport extends RepositoryRow {
  state: RepositoryState;
  listedByV2: boolean;
  listedByV3: boolean;
}

export function withState(r: RepositoryRow): RepositoryReport {
  return { ...r, state: repositoryState(r), listedByV2: isListed(r, 2), listedByV3: isListed(r, 3) };
}

function catalogClause(r: RepositoryReport): string {
  const by = [r.listedByV2 ? '2.x (_layers present)' : '', r.listedByV3 ? '3.x (_manifests present)' : ''].filter(
    Boolean,
  );
  return by.length ? `still listed in /v2/_catalog by ${by.join(' and ')}` : 'not listed by either catalog';
}

export function emptyRepositories(repos: RepositoryReport[]): Finding[] {
  return repos
    .filter((r) => r.state === 'empty')
    .map((r) => ({
      kind: 'empty-repository',
      severity: 'warning' as const,
      repository: r.name,
      message:
        `no tags and no revisions (${r.layerLinks} layer links, ${r.uploads} uploads); ${catalogClause(r)}` +
        (r.uploads > 0
          ? '; it holds uploads: if one is in progress this is a push that has not finished, and prune leaves it until its uploads are older than --upload-age'
          : ''),
    }));
}

export function invalidRepositoryNames(repos: RepositoryReport[]): Finding[] {
  return repos
    .filter((r) => r.nameProblem !== null)
    .map((r) => ({
      kind: 'invalid-repository-name',
      severity: 'error' as const,
      repository: r.name,
      message: `not a valid repository name (${r.nameProblem}); the registry cannot serve it and garbage-collect aborts on it`,
    }));
}

export function danglingTags(tags: TagRow[]): Finding[] {
  const out: Finding[] = [];
  for (const t of tags) {
    let why: string | null = null;
    if (!t.hasCurrentLink) why = 'tag directory has no current/link';
    else if (t.current === null) why = `current/link is unreadable or not a digest (${t.currentProblem ?? 'invalid'})`;
    else if (!t.revisionPresent) why = `current/link names ${t.current}, which has no revision link in this repository`;
    else if (!t.blobPresent) why = `current/link names ${t.current}, whose manifest blob is gone from blobs/`;
    if (why === null) continue;
    out.push({
      kind: 'dangling-tag',
      severity: 'error',
      repository: t.repository,
      tag: t.tag,
      ...(t.current ? { digest: t.current } : {}),
      message: `${why}; pulling it fails with MANIFEST_UNKNOWN`,
    });
  }
  return out;
}

const LINK_DESCRIPTION: Readonly<Record<string, string>> = {
  layer: '_layers link',
  revision: 'revision link',
  'tag-current': 'tag current link',
  'tag-index': 'tag index link',
};

/** Where a link file is, relative to docker/registry/v2 like every finding path; undefined if its row cannot name it. */
export function linkPath(l: LinkRow): string | undefined {
  const digest = l.pathDigest === null ? null : parseDigest(l.pathDigest);
  const spec: RepoPathSpec | null =
    l.kind === 'tag-current' && l.tag !== null
      ? { kind: 'tagCurrentLink', tag: l.tag }
      : digest === null
        ? null
        : l.kind === 'layer'
          ? { kind: 'layerLink', digest }
          : l.kind === 'revision'
            ? { kind: 'revisionLink', digest }
            : l.kind === 'tag-index' && l.tag !== null
              ? { kind: 'tagIndexLink', tag: l.tag, digest }
              : null;
  return spec === null ? undefined : inRepository(l.repository, spec);
}

export function linkProblems(links: LinkRow[]): Finding[] {
  const out: Finding[] = [];
  for (const l of links) {
    const what = LINK_DESCRIPTION[l.kind] ?? l.kind;
    const where = linkPath(l);
    const base = {
      repository: l.repository,
      ...(where !== undefined ? { path: where } : {}),
      ...(l.tag !== null ? { tag: l.tag } : {}),
      ...(l.pathDigest ? { digest: l.pathDigest } : {}),
    };
    if (l.problem !== null) {
      out.push({
        ...base,
        kind: 'invalid-link',
        severity: 'error',
        message: `${what} is ${l.problem === 'empty' ? 'empty' : l.problem === 'invalid' ? `not a digest: ${l.raw ?? ''}` : l.problem} (${l.size} bytes); garbage-collect aborts with "invalid checksum digest format"`,
      });
      continue;
    }
    const pathAlg = l.pathDigest?.split(':')[0];
    const contentAlg = l.digest?.split(':')[0];
    const alias = l.kind === 'layer' && pathAlg !== contentAlg;
    out.push({
      ...base,
      kind: 'link-digest-mismatch',
      severity: alias ? 'info' : 'error',
      message: alias
        ? `alias link: path names ${l.pathDigest}, content is the canonical ${l.digest} (legitimate: written for a non-canonical upload digest)`
        : `${what} path names ${l.pathDigest} but the file holds ${l.digest ?? ''}`,
    });
  }
  return out;
}

export function missingManifestBlobs(links: LinkRow[]): Finding[] {
  return links.map((l) => ({
    kind: 'missing-manifest-blob',
    severity: 'error' as const,
    repository: l.repository,
    digest: l.digest ?? l.pathDigest ?? '',
    message: `revision link present but blobs/ has no data for ${l.digest}; the manifest cannot be pulled`,
  }));
}

export function danglingLayerLinkFindings(links: LinkRow[]): Finding[] {
  return links.map((l) => ({
    kind: 'dangling-layer-link',
    severity: 'warning' as const,
    repository: l.repository,
    digest: l.pathDigest ?? l.digest ?? '',
    message: `_layers link to ${l.digest}, which is gone from blobs/ (2.x garbage-collect leaves these; a push may then skip the upload)`,
  }));
}

export function staleUploads(uploads: UploadRow[], opts: AuditOptions): Finding[] {
  const out: Finding[] = [];
  for (const u of uploads) {
    const since = u.startedMs ?? u.mtimeMs;
    if (opts.now - since < opts.uploadAgeMs) continue;
    out.push({
      kind: 'stale-upload',
      severity: 'warning',
      repository: u.repository,
      path: inRepository(u.repository, { kind: 'upload', id: u.id }),
      bytes: u.size,
      message:
        u.startedMs === null
          ? `upload ${u.id} has no readable startedat (the registry's purger never removes it); last written ${new Date(u.mtimeMs).toISOString()}`
          : `upload ${u.id} started ${u.startedAt ?? ''}, older than the upload age`,
    });
  }
  return out;
}

const DEBRIS_SEVERITY: Readonly<Record<string, Finding['severity']>> = {
  unreadable: 'error',
  symlink: 'warning',
  'pending-deletion': 'warning',
};

export function debrisFindings(rows: DebrisRow[]): Finding[] {
  return rows.map((d) => ({
    kind: d.kind === 'unreadable' ? 'unreadable-path' : 'debris',
    severity: DEBRIS_SEVERITY[d.kind] ?? 'info',
    repository: d.repository,
    path: d.path,
    message: `${d.kind}: ${d.detail ?? ''}`.trim(),
  }));
}

/**
 * A blob nothing seems to reference may be referenced from a part that could not be read (a
 * repository hidden behind an unreadable directory): such findings say so instead of advising GC.
 */
export function markUncertain(findings: Finding[]): Finding[] {
  const unreadable = findings.filter((f) => f.kind === 'unreadable-path').length;
  if (unreadable === 0) return findings;
  const note = `; UNCERTAIN: ${unreadable} path${unreadable === 1 ? '' : 's'} could not be read (see unreadable-path), so some repositories could not be read and may reference it`;
  return findings.map((f) =>
    f.kind === 'unreferenced-blob' ? { ...f, uncertain: true, message: f.message + note } : f,
  );
}

/** All findings of the index-level rules, sorted. */
export function audit(
  input: AuditInput,
  opts: AuditOptions,
): { repositories: RepositoryReport[]; findings: Finding[] } {
  const repos = input.repositories.map(withState);
  const findings = [
    ...emptyRepositories(repos),
    ...invalidRepositoryNames(repos),
    ...danglingTags(input.tags),
    ...linkProblems(input.badLinks),
    ...missingManifestBlobs(input.revisionsWithoutBlob),
    ...danglingLayerLinkFindings(input.danglingLayerLinks),
    ...staleUploads(input.uploads, opts),
    ...debrisFindings(input.debris),
    ...(input.graph ? graphFindings(input.graph) : []),
  ].sort(compareFindings);
  return { repositories: repos, findings: markUncertain(findings) };
}
