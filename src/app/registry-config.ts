/**
 * The registry's own config.yml, read the way `registry garbage-collect CONFIG` reads it
 * (distribution configuration/parser.go, v2.8 and v3): YAML, then every REGISTRY_* environment
 * variable overrides a field, sorted by name. Only the storage section matters here.
 * - `REGISTRY_STORAGE=<driver>` replaces the whole storage section with that driver, no parameters.
 * - `REGISTRY_STORAGE_<DRIVER>_<PARAM>=v` sets a parameter (keys matched case-insensitively, stored
 *   lower-case); naming a driver the file does not use adds it, which the registry refuses as
 *   "multiple storage drivers".
 * Values are YAML scalars, as the registry unmarshals them.
 */
import { readFileSync } from 'node:fs';
import { UsageError, describeFsError } from '../errors.js';
import type { S3Settings } from '../storage/s3/settings.js';
import { lazyModule } from '../lazy-module.js';

const yaml = lazyModule<typeof import('yaml')>('yaml');
const parse = (text: string): unknown => yaml().parse(text);

/** Storage keys that configure the registry rather than name a driver (configuration.go, Storage.Type). */
const NOT_DRIVERS = new Set(['maintenance', 'cache', 'delete', 'redirect', 'tag']);

export type Parameters = Record<string, unknown>;

/** Where a storage driver's configuration points regaudit. */
export interface StorageTarget {
  driver: string;
  /** A local path (filesystem) or whatever the driver's scan accepts as its root argument. */
  root: string;
  /** How to reach a bucket (s3): the config's region, endpoint, addressing and keys. */
  s3?: S3Settings;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;

/** A YAML or environment boolean as the registry's parsers take it (bool, or a string strconv.ParseBool reads). */
function bool(v: unknown, key: string, file: string): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  const t = typeof v === 'string' || typeof v === 'number' ? String(v).toLowerCase() : '';
  if (['1', 't', 'true'].includes(t)) return true;
  if (['0', 'f', 'false'].includes(t)) return false;
  throw new UsageError(`${file}: storage.s3.${key}: not a boolean`);
}

/**
 * The s3 driver's parameters (distribution registry/storage/driver/s3-aws/s3.go, FromParameters):
 * bucket and region are required there too; a regionendpoint without a scheme gets https://, or
 * http:// with `secure: false`, as the driver's SDK does. Keys stay out of every message.
 */
export function s3Target(params: Parameters, file: string): StorageTarget {
  const bucket = str(params.bucket);
  if (bucket === undefined) throw new UsageError(`${file}: storage.s3 has no bucket`);
  const root = (str(params.rootdirectory) ?? '').replace(/^\/+|\/+$/g, '');
  const s3: S3Settings = {};
  const region = str(params.region);
  if (region !== undefined) s3.region = region;
  let endpoint = str(params.regionendpoint);
  if (endpoint !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint))
    endpoint = `${bool(params.secure, 'secure', file) === false ? 'http' : 'https'}://${endpoint}`;
  if (endpoint !== undefined) s3.endpoint = endpoint;
  const pathStyle = bool(params.forcepathstyle, 'forcepathstyle', file);
  if (pathStyle !== undefined) s3.pathStyle = pathStyle;
  const accessKeyId = str(params.accesskey);
  const secretAccessKey = str(params.secretkey);
  // Both or neither, as the driver: otherwise its SDK's default chain (environment, profile, instance role).
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    throw new UsageError(`${file}: storage.s3 gives only one of accesskey and secretkey`);
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const sessionToken = str(params.sessiontoken);
    s3.credentials = { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) };
  }
  return { driver: 's3', root: `s3://${bucket}/${root}`, s3 };
}

/**
 * Each driver regaudit can read, from its parameters to a root. Add a driver here (with its scan)
 * to make `--config` accept it.
 */
export const DRIVERS: Record<string, (params: Parameters, file: string) => StorageTarget> = {
  filesystem: (params) => ({
    driver: 'filesystem',
    // The filesystem driver's default (registry/storage/driver/filesystem/driver.go).
    root:
      typeof params.rootdirectory === 'string' && params.rootdirectory !== ''
        ? params.rootdirectory
        : '/var/lib/registry',
  }),
  s3: s3Target,
};

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The storage section after the environment overrides; pure. */
export function storageSection(
  doc: unknown,
  env: Readonly<Record<string, string | undefined>>,
  file: string,
): Record<string, Parameters> {
  if (!isMap(doc)) throw new UsageError(`${file}: not a registry configuration (a YAML mapping is expected)`);
  const raw = Object.entries(doc).find(([k]) => k.toLowerCase() === 'storage')?.[1];
  let storage: Record<string, Parameters> = {};
  if (typeof raw === 'string') storage = { [raw]: {} };
  else if (isMap(raw)) for (const [k, v] of Object.entries(raw)) storage[k] = isMap(v) ? { ...v } : {};
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (value === undefined) continue;
    if (name === 'REGISTRY_STORAGE') {
      storage = { [String(parse(value))]: {} };
      continue;
    }
    const m = /^REGISTRY_STORAGE_([A-Z0-9]+)_(.+)$/.exec(name);
    if (!m) continue;
    const key = Object.keys(storage).find((k) => k.toUpperCase() === m[1]) ?? m[1]!.toLowerCase();
    const params = storage[key] ?? (storage[key] = {});
    if (m[2]!.includes('_')) continue; // a nested parameter: none that regaudit reads
    const existing = Object.keys(params).find((k) => k.toUpperCase() === m[2]);
    params[existing ?? m[2]!.toLowerCase()] = parse(value);
  }
  return storage;
}

/** The storage driver and root a registry configuration names; one clear line when regaudit cannot use it. */
export function storageFromConfig(
  doc: unknown,
  env: Readonly<Record<string, string | undefined>>,
  file: string,
): StorageTarget {
  const storage = storageSection(doc, env, file);
  const drivers = Object.keys(storage).filter((k) => !NOT_DRIVERS.has(k));
  if (drivers.length === 0)
    throw new UsageError(`${file}: no storage driver configured (storage: filesystem: rootdirectory: ...)`);
  if (drivers.length > 1)
    throw new UsageError(
      `${file}: multiple storage drivers specified in configuration or environment: ${drivers.sort().join(', ')}`,
    );
  const driver = drivers[0]!;
  const read = DRIVERS[driver];
  if (!read)
    throw new UsageError(
      `${file}: storage driver "${driver}" is not one regaudit reads (it reads: ${Object.keys(DRIVERS).sort().join(', ')})`,
    );
  return read(storage[driver]!, file);
}

/** Reads CONFIG as `registry garbage-collect CONFIG` does, with this process's REGISTRY_* environment. */
export function readRegistryConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): StorageTarget {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--config ${file}: ${describeFsError(err)}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  return storageFromConfig(doc, env, file);
}
