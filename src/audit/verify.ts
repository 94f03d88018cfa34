/** Pure rules of `regaudit verify`: stored hash results, descriptor sizes and blob-directory debris in, findings out. */
import { compareFindings, type Finding } from './findings.js';

export const VERIFY_FINDING_KINDS = ['corrupt-blob', 'blob-size-mismatch', 'unreadable-blob'] as const;
export type VerifyFindingKind = (typeof VERIFY_FINDING_KINDS)[number];
export type VerifyFinding = Finding<VerifyFindingKind>;

export interface VerifyRuleInput {
  bad: ReadonlyArray<{ digest: string; size: number; status: 'corrupt' | 'unreadable'; detail: string | null }>;
  sizeMismatches: ReadonlyArray<{
    digest: string;
    size: number;
    declarations: ReadonlyArray<{ manifest: string; declared: number }>;
  }>;
  /** blobs/<alg>/<xx>/<hex>/data paths holding no regular file, with the digest they spell. */
  unlistable: ReadonlyArray<{ path: string; digest: string; detail: string }>;
  /** Tags and repositories that reference a digest, for the messages. */
  references(digest: string): { tags: readonly string[]; repositories: readonly string[] };
  blobPath(digest: string): string;
}

function whoPulls(refs: { tags: readonly string[]; repositories: readonly string[] }): string {
  if (refs.tags.length) return `pulls of ${list(refs.tags)} fail`;
  if (refs.repositories.length) return `referenced by ${list(refs.repositories)} (no tag reaches it)`;
  return 'referenced by no repository';
}

function list(items: readonly string[], max = 10): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/**
 * One finding per blob. A blob whose size differs from its descriptors is reported as
 * blob-size-mismatch only (its bytes cannot hash right either; the size says more: a truncated copy).
 */
export function verifyFindings(input: VerifyRuleInput): VerifyFinding[] {
  const out: VerifyFinding[] = [];
  const mismatched = new Set(input.sizeMismatches.map((m) => m.digest));
  for (const m of input.sizeMismatches) {
    const decl = m.declarations.map((d) => `${d.declared} bytes in ${d.manifest}`);
    out.push({
      kind: 'blob-size-mismatch',
      severity: 'error',
      repository: null,
      digest: m.digest,
      path: input.blobPath(m.digest),
      bytes: m.size,
      message: `data has ${m.size} bytes, manifests declare ${list(decl, 3)} (a truncated or altered copy); ${whoPulls(input.references(m.digest))}`,
    });
  }
  for (const b of input.bad) {
    if (mismatched.has(b.digest)) continue;
    const refs = whoPulls(input.references(b.digest));
    out.push(
      b.status === 'corrupt'
        ? {
            kind: 'corrupt-blob',
            severity: 'error',
            repository: null,
            digest: b.digest,
            path: input.blobPath(b.digest),
            bytes: b.size,
            message: `bytes hash to ${b.detail ?? 'another digest'}, not to the digest of their path; ${refs}`,
          }
        : {
            kind: 'unreadable-blob',
            severity: 'error',
            repository: null,
            digest: b.digest,
            path: input.blobPath(b.digest),
            bytes: b.size,
            message: `could not be hashed: ${b.detail ?? 'read error'}; ${refs}`,
          },
    );
  }
  for (const u of input.unlistable) {
    out.push({
      kind: 'unreadable-blob',
      severity: 'error',
      repository: null,
      digest: u.digest,
      path: u.path,
      message: `could not be hashed: ${u.detail}; ${whoPulls(input.references(u.digest))}`,
    });
  }
  return out.sort(compareFindings);
}
