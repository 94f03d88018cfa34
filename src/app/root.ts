import { resolveStorageRoot, type StorageRoot } from '../scan/root.js';

/** A storage root resolved once in the use case and passed down, with the path the user gave (recorded in the scan). */
export interface RootArg {
  given: string;
  resolved: StorageRoot;
}

export function resolveRoot(root: string | RootArg): RootArg {
  return typeof root === 'string' ? { given: root, resolved: resolveStorageRoot(root) } : root;
}
