/** `s3://BUCKET/ROOTDIRECTORY`: what a root argument names on object storage. Pure. */
import { STORAGE_PREFIX } from '../../layout/paths.js';
import { v2KeyPrefix } from '../../layout/object-keys.js';
import { UsageError } from '../../errors.js';

export interface BucketLocation {
  bucket: string;
  /** The registry's rootdirectory inside the bucket, without slashes at either end ('' for none). */
  rootDirectory: string;
  /** Key prefix of docker/registry/v2, ending in '/'. */
  v2Prefix: string;
  /** `s3://bucket/<v2Prefix without its slash>`: the root the index records for this storage. */
  v2Url: string;
}

export function isS3Url(given: string): boolean {
  return /^s3:\/\//i.test(given);
}

/** S3 bucket names: 3-63 characters of lowercase letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses `s3://BUCKET[/ROOTDIRECTORY]`. Like a filesystem root, the rootdirectory may also be given
 * down to its docker/registry/v2.
 */
export function parseS3Url(given: string): BucketLocation {
  const { bucket, prefix } = parseS3Prefix(given);
  let root = prefix.replace(/\/$/, '');
  if (root === STORAGE_PREFIX) root = '';
  else if (root.endsWith(`/${STORAGE_PREFIX}`)) root = root.slice(0, -STORAGE_PREFIX.length - 1);
  const v2Prefix = v2KeyPrefix(root);
  return { bucket, rootDirectory: root, v2Prefix, v2Url: `s3://${bucket}/${v2Prefix.slice(0, -1)}` };
}

/** `s3://BUCKET/PREFIX`: the bucket and the key prefix (ending in '/', or '' for none). */
export function parseS3Prefix(given: string): { bucket: string; prefix: string } {
  if (!isS3Url(given)) throw new UsageError(`${given}: not an s3:// URL`);
  const rest = given.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  if (!BUCKET.test(bucket)) throw new UsageError(`${given}: "${bucket}" is not a valid bucket name`);
  const p = (slash === -1 ? '' : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, '');
  if (p.split('/').some((s) => s === '.' || s === '..') || p.includes('//'))
    throw new UsageError(`${given}: the path may not hold empty, . or .. segments`);
  return { bucket, prefix: p === '' ? '' : `${p}/` };
}
