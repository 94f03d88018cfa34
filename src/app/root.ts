import { resolveStorageRoot, type StorageRoot } from '../scan/root.js';
import { isS3Url, parseS3Url } from '../storage/s3/location.js';

/** A storage root resolved once in the use case and passed down, with the path the user gave (recorded in the scan). */
export interface RootArg {
  given: string;
  resolved: StorageRoot;
}

export function resolveRoot(root: string | RootArg): RootArg {
  if (typeof root !== 'string') return root;
  if (isS3Url(root)) {
    // A bucket: nothing to stat here; the scan's listing finds out whether storage is there.
    const l = parseS3Url(root);
    return { given: root, resolved: { v2: l.v2Url, rootDirectory: `s3://${l.bucket}/${l.rootDirectory}` } };
  }
  return { given: root, resolved: resolveStorageRoot(root) };
}
