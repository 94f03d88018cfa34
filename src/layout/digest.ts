/**
 * Content digests as the registry stores them: `<alg>:<lowercase hex>`.
 * Only sha256/sha384/sha512 are valid (go-digest), with an exact hex length.
 */
export type Digest = string & { readonly __brand: 'Digest' };

export const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

const HEX = /^[0-9a-f]+$/;

/** Returns the digest when `alg` and `hex` form a valid one, otherwise null. */
export function digestOf(alg: string, hex: string): Digest | null {
  const len = DIGEST_HEX_LENGTH[alg];
  if (len === undefined || hex.length !== len || !HEX.test(hex)) return null;
  return `${alg}:${hex}` as Digest;
}

/** Parses link-file content exactly as the registry does: no trimming, no newline allowed. */
export function parseDigest(text: string): Digest | null {
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return digestOf(text.slice(0, colon), text.slice(colon + 1));
}

export function splitDigest(d: Digest): { alg: string; hex: string } {
  const colon = d.indexOf(':');
  return { alg: d.slice(0, colon), hex: d.slice(colon + 1) };
}
