/**
 * What `registry garbage-collect` would do, per registry version and --delete-untagged, modelled on
 * registry/storage/garbagecollect.go (v2.8.x and v3.x). Pure: the SQL in src/index/gc.ts computes
 * the sets; this module says which scenario marks what and when the real run would stop.
 *
 * Mark phase, both versions: repositories are enumerated by the catalog marker (`_layers` on 2.x,
 * `_manifests` on 3.x); every revision link whose manifest blob exists is marked with its references.
 * - 2.x: one level of references (config + layers, or the children of an index/list). With -m, a
 *   revision no tag currently names is not marked and its revision is deleted, even when it is the
 *   child of a tagged index (the multi-arch breakage, distribution #3004); its layers are swept.
 * - 3.x: references are followed into children that are revisions of the same repository; with
 *   -m an untagged revision is deleted unless something marked it; then every `_layers` link whose
 *   blob is not marked *at that repository's turn* (catalog order) is removed.
 * Sweep, both: every blobs/**\/data whose digest is not marked is deleted.
 */
import { GC_MEDIA_TYPES } from '../layout/manifest.js';
import type {
  GcBadLinkRow,
  GcDebrisRow,
  GcManifestRow,
  GcMarkRule,
  GcRepositoryRow,
  GcScenarioId,
} from '../index/gc-rows.js';
export type { GcScenarioId };
export type { GcBadLinkRow, GcDebrisRow, GcManifestRow, GcRepositoryRow };

/** A scenario: the part the index's SQL needs (src/index/gc-rows.ts), and the command it predicts. */
export interface GcScenario extends GcMarkRule {
  id: GcScenarioId;
  /** The command this scenario predicts. */
  command: string;
}

export const GC_SCENARIOS: readonly GcScenario[] = [
  {
    id: '2',
    version: 2,
    deleteUntagged: false,
    command: 'registry garbage-collect (2.8)',
    marker: 'has_layers',
    markFlag: null,
  },
  {
    id: '2-m',
    version: 2,
    deleteUntagged: true,
    command: 'registry garbage-collect --delete-untagged (2.8)',
    marker: 'has_layers',
    markFlag: 'tagged',
  },
  {
    id: '3',
    version: 3,
    deleteUntagged: false,
    command: 'registry garbage-collect (3.x)',
    marker: 'has_manifests',
    markFlag: null,
  },
  {
    id: '3-m',
    version: 3,
    deleteUntagged: true,
    command: 'registry garbage-collect --delete-untagged (3.x)',
    marker: 'has_manifests',
    markFlag: 'live',
  },
];

/** A condition that stops the real run in its mark phase (nothing is deleted) or makes this prediction unsure. */
export interface GcIssue {
  effect: 'aborts' | 'uncertain' | 'breaks';
  repository: string | null;
  digest?: string;
  path?: string;
  message: string;
}

export interface GcIssueInput {
  repositories: GcRepositoryRow[];
  /** Links whose content does not parse. */
  badLinks: GcBadLinkRow[];
  /** Present revisions whose manifest could not be read, or that one version cannot unmarshal. */
  manifests: GcManifestRow[];
  debris: GcDebrisRow[];
}

const enumerated = (r: GcRepositoryRow, s: GcScenario): boolean =>
  s.marker === 'has_layers' ? r.hasLayers : r.hasManifests;

/** Why the manifest store of this version refuses the manifest, or null. */
export function unmarshalProblem(m: GcManifestRow, version: 2 | 3): string | null {
  if (m.problem === 'too-large') return null;
  if (m.problem !== null)
    return m.problem === 'unreadable'
      ? 'cannot be read'
      : `is ${m.problem === 'not-json' ? 'not JSON' : 'of an unknown schema'}`;
  if (m.schemaVersion === 1)
    return version === 3 ? 'is schema1, which 3.x no longer reads ("unrecognized manifest schema version 1")' : null;
  if (m.mediaType !== null && m.mediaType !== '' && !GC_MEDIA_TYPES.includes(m.mediaType))
    return `has media type ${m.mediaType}, which the manifest store does not unmarshal`;
  return null;
}

/** Whether this scenario reads (unmarshals) the manifest of that revision. */
function isRead(m: GcManifestRow, s: GcScenario): boolean {
  if (!s.deleteUntagged) return true;
  return s.version === 2 ? m.current : m.live;
}

/** The conditions under which the real run stops or this prediction is unsure, for one scenario. */
export function gcIssues(input: GcIssueInput, s: GcScenario): GcIssue[] {
  const out: GcIssue[] = [];
  const repos = new Map(input.repositories.map((r) => [r.name, r]));
  const isEnumerated = (name: string): boolean => {
    const r = repos.get(name);
    return r !== undefined && enumerated(r, s);
  };
  for (const r of input.repositories) {
    if (!enumerated(r, s)) {
      if (r.revisions > 0) {
        out.push({
          effect: 'breaks',
          repository: r.name,
          message: `not enumerated (no ${s.marker === 'has_layers' ? '_layers' : '_manifests'} directory): its ${r.revisions} revisions are not marked, so what only they use is swept`,
        });
      }
      continue;
    }
    if (r.nameProblem !== null)
      out.push({
        effect: 'aborts',
        repository: r.name,
        message: `invalid repository name (${r.nameProblem}): "failed to parse repo name"`,
      });
    if (s.version === 3 && !r.hasLayers)
      out.push({
        effect: 'aborts',
        repository: r.name,
        message: 'no _layers directory: the layer-link pass fails with "Path not found"',
      });
    if (s.deleteUntagged && r.hasTagsDir === false && r.untagged > 0) {
      out.push(
        s.version === 2
          ? {
              effect: 'aborts',
              repository: r.name,
              message: `no _manifests/tags directory and ${r.untagged} untagged revisions: "failed to retrieve tags"`,
            }
          : {
              effect: 'breaks',
              repository: r.name,
              message: `no _manifests/tags directory: its ${r.untagged} untagged revisions are neither marked nor deleted, so their blobs are swept under them`,
            },
      );
    }
    if (r.problem !== null)
      out.push({
        effect: 'uncertain',
        repository: r.name,
        message: `part of the repository could not be read (${r.problem})`,
      });
  }
  for (const l of input.badLinks) {
    if (!isEnumerated(l.repository)) continue;
    const stops =
      l.kind === 'revision' ||
      (l.kind === 'tag-current' && s.deleteUntagged) ||
      (l.kind === 'layer' && s.version === 3);
    if (!stops) continue;
    out.push({
      effect: 'aborts',
      repository: l.repository,
      ...(l.pathDigest ? { digest: l.pathDigest } : {}),
      message: `${l.kind === 'tag-current' ? `current link of tag ${l.tag ?? ''}` : `${l.kind} link`} is ${l.problem}: "invalid checksum digest format"`,
    });
  }
  for (const m of input.manifests) {
    if (!isEnumerated(m.repository) || !isRead(m, s)) continue;
    if (m.problem === 'too-large') {
      out.push({
        effect: 'uncertain',
        repository: m.repository,
        digest: m.digest,
        message: 'manifest over 4 MiB was not read: what it references is counted as swept',
      });
      continue;
    }
    const why = unmarshalProblem(m, s.version);
    if (why !== null)
      out.push({
        effect: 'aborts',
        repository: m.repository,
        digest: m.digest,
        message: `manifest ${why}: "failed to retrieve manifest"`,
      });
  }
  for (const d of input.debris) {
    if (d.kind === 'unreadable')
      out.push({
        effect: 'uncertain',
        repository: null,
        path: d.path,
        message: d.path.startsWith('blobs/')
          ? 'could not be read: the blobs below it are unknown'
          : 'could not be read: repositories and links below it are unknown, so what they keep is unknown',
      });
    else if (d.kind === 'symlink')
      out.push({
        effect: 'uncertain',
        repository: null,
        path: d.path,
        message: 'symbolic link: the registry follows it, regaudit does not',
      });
    else if (d.path.startsWith('blobs/') && d.kind !== 'tmp-file') {
      out.push({
        effect: 'uncertain',
        repository: null,
        path: d.path,
        message: 'not part of the blob layout: a data file below it makes the sweep fail ("error enumerating blobs")',
      });
    }
  }
  return out;
}

/**
 * aborts: the real run stops in its mark phase and deletes nothing. uncertain: something it depends
 * on was not read, so nothing it would delete can be called safe. runs: the prediction stands.
 */
export type GcOutcome = 'aborts' | 'uncertain' | 'runs';

export function gcOutcome(issues: readonly GcIssue[]): GcOutcome {
  if (issues.some((i) => i.effect === 'aborts')) return 'aborts';
  return issues.some((i) => i.effect === 'uncertain') ? 'uncertain' : 'runs';
}
