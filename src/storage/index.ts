/** Storage drivers by kind, for code (a worker thread) that receives only a serialisable kind. */
import type { StorageDriver } from './driver.js';
import { fsStorage } from './fs.js';

export function storageOfKind(kind: string): StorageDriver {
  if (kind === 'fs') return fsStorage;
  throw new Error(`no storage driver of kind ${kind}`);
}
