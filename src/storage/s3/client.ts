/**
 * One bucket through the AWS SDK v3: every request regaudit makes to object storage goes through
 * here, so it is bounded (`--requests` in flight), counted by kind, retried by the SDK's standard
 * strategy (SlowDown and 503 back off), and failures become one-line errors.
 *
 * The SDK is loaded on first use, after AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED is set:
 * on Node 20 it would otherwise print a multi-line warning on stderr (and filesystem runs never
 * pay for loading it).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { StorageError } from '../../errors.js';
import { lazyModule } from '../../lazy-module.js';
import type { BucketLocation } from './location.js';
import { s3Settings, type S3Settings } from './settings.js';

export type { S3Settings };

export const DEFAULT_REQUESTS = 32;
/** Attempts per request, first included: throttling backs off and tries again up to this. */
const MAX_ATTEMPTS = 8;

export type RequestKind = 'LIST' | 'GET' | 'HEAD' | 'PUT' | 'COPY' | 'DELETE';
export type RequestCounts = Record<RequestKind, number>;

const KIND_OF: Record<string, RequestKind> = {
  ListObjectsV2Command: 'LIST',
  GetObjectCommand: 'GET',
  HeadObjectCommand: 'HEAD',
  HeadBucketCommand: 'HEAD',
  PutObjectCommand: 'PUT',
  CopyObjectCommand: 'COPY',
  DeleteObjectsCommand: 'DELETE',
  DeleteObjectCommand: 'DELETE',
};

export interface ListedObject {
  key: string;
  size: number;
  lastModifiedMs: number;
  /** Without quotes; '' when the server sent none. */
  etag: string;
}

export interface ListPage {
  objects: ListedObject[];
  /** Continuation token of the next page, when there is one. */
  next?: string;
}

export type GetResult =
  | { found: true; bytes: Buffer; size: number; lastModifiedMs: number; truncated: boolean; etag: string }
  /** The key is gone (deleted since it was listed) or may not be read. */
  | { found: false; why: 'no such key' | 'access denied' };

type Sdk = typeof import('@aws-sdk/client-s3');
/**
 * Through require, not import(): the bundled CLI runs as a script that has no dynamic import
 * (scripts/build-cli.mjs); the SDK is CommonJS either way (its package.json names no ES entry).
 */
const requireSdk = lazyModule<Sdk>('@aws-sdk/client-s3');

function loadSdk(): Promise<Sdk> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return Promise.resolve().then(requireSdk);
}

/**
 * Counts concurrent work down to a limit; callers wait in order, except that urgent ones (listing
 * pages, which feed everything else) go ahead of work that can wait (manifest reads).
 */
class Limit {
  private active = 0;
  private readonly urgent: Array<() => void> = [];
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>, urgent = true): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => (urgent ? this.urgent : this.waiting).push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.urgent.shift() ?? this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

function endpointOf(settings: S3Settings): string | undefined {
  const e = settings.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  return e === undefined || e === '' ? undefined : e;
}

export class Bucket {
  readonly counts: RequestCounts = { LIST: 0, GET: 0, HEAD: 0, PUT: 0, COPY: 0, DELETE: 0 };
  readonly requests: number;

  private constructor(
    readonly location: BucketLocation,
    private readonly client: S3Client,
    private readonly api: Sdk,
    private readonly endpoint: string | undefined,
    requests: number,
  ) {
    this.requests = requests;
    this.limit = new Limit(requests);
  }

  private readonly limit: Limit;

  static async open(location: BucketLocation, settings: S3Settings = s3Settings()): Promise<Bucket> {
    const api = await loadSdk();
    const endpoint = endpointOf(settings);
    const requests = settings.requests ?? DEFAULT_REQUESTS;
    if (endpoint !== undefined && !/^https?:\/\/[^/]/i.test(endpoint))
      throw new StorageError(`--endpoint ${endpoint}: not an http:// or https:// URL`);
    const client = new api.S3Client({
      region: settings.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      forcePathStyle: settings.pathStyle ?? endpoint !== undefined,
      maxAttempts: MAX_ATTEMPTS,
      retryMode: 'standard',
      requestHandler: {
        httpAgent: { keepAlive: true, maxSockets: requests },
        httpsAgent: { keepAlive: true, maxSockets: requests },
        connectionTimeout: 10_000,
        requestTimeout: 120_000,
      },
    });
    const bucket = new Bucket(location, client, api, endpoint, requests);
    // Counted per attempt (this step runs inside the SDK's retry loop): what the server was sent.
    client.middlewareStack.add(
      (next, context) => (args) => {
        const kind = KIND_OF[context.commandName ?? ''];
        if (kind) bucket.counts[kind]++;
        return next(args);
      },
      { step: 'deserialize', name: 'regauditRequestCount' },
    );
    return bucket;
  }

  /** A key of this storage from a path relative to docker/registry/v2. */
  key(rel: string): string {
    return this.location.v2Prefix + rel;
  }

  /** One ListObjectsV2 page of up to 1,000 keys under `prefix`. */
  list(prefix: string, from: { startAfter?: string; token?: string } = {}): Promise<ListPage> {
    return this.call('ListObjectsV2', prefix, async () => {
      const r = await this.client.send(
        new this.api.ListObjectsV2Command({
          Bucket: this.location.bucket,
          Prefix: prefix,
          ...(from.token !== undefined ? { ContinuationToken: from.token } : {}),
          ...(from.startAfter !== undefined && from.token === undefined ? { StartAfter: from.startAfter } : {}),
        }),
      );
      return {
        objects: (r.Contents ?? []).map((o) => ({
          key: o.Key ?? '',
          size: o.Size ?? 0,
          lastModifiedMs: o.LastModified?.getTime() ?? 0,
          etag: (o.ETag ?? '').replace(/"/g, ''),
        })),
        ...(r.IsTruncated && r.NextContinuationToken ? { next: r.NextContinuationToken } : {}),
      };
    });
  }

  /** Every key under `prefix`, page by page. */
  async listAll(prefix: string): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.list(prefix, token !== undefined ? { token } : {});
      out.push(...page.objects);
      token = page.next;
    } while (token !== undefined);
    return out;
  }

  /**
   * GETs at most `max` bytes of `key` (a Range request); `found: false` when there is no such key.
   * `urgent: false` lets listing pages and urgent reads go first.
   */
  get(key: string, max: number, urgent = true): Promise<GetResult> {
    return this.call(
      'GetObject',
      key,
      async () => {
        try {
          const r = await this.client.send(
            new this.api.GetObjectCommand({ Bucket: this.location.bucket, Key: key, Range: `bytes=0-${max}` }),
          );
          const bytes = Buffer.from((await r.Body?.transformToByteArray()) ?? new Uint8Array());
          const total = /\/(\d+)$/.exec(r.ContentRange ?? '')?.[1];
          const size = total !== undefined ? Number(total) : bytes.length;
          return {
            found: true as const,
            bytes: bytes.subarray(0, max),
            size,
            lastModifiedMs: r.LastModified?.getTime() ?? 0,
            truncated: size > max,
            etag: (r.ETag ?? '').replace(/"/g, ''),
          };
        } catch (err) {
          const name = (err as { name?: string }).name;
          // An empty object answers a ranged GET with 416.
          if (name === 'InvalidRange')
            return {
              found: true as const,
              bytes: Buffer.alloc(0),
              size: 0,
              lastModifiedMs: 0,
              truncated: false,
              etag: '',
            };
          if (name === 'NoSuchKey') return { found: false as const, why: 'no such key' as const };
          if (name === 'AccessDenied') return { found: false as const, why: 'access denied' as const };
          throw err;
        }
      },
      urgent,
    );
  }

  /** true when `key` exists. */
  exists(key: string): Promise<boolean> {
    return this.call('HeadObject', key, async () => {
      try {
        await this.client.send(new this.api.HeadObjectCommand({ Bucket: this.location.bucket, Key: key }));
        return true;
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return false;
        throw err;
      }
    });
  }

  /** PUT `body` at `key`; with `ifAbsent`, only when no such key exists (false when one did). */
  put(key: string, body: string, ifAbsent = false): Promise<boolean> {
    return this.call('PutObject', key, async () => {
      try {
        await this.client.send(
          new this.api.PutObjectCommand({
            Bucket: this.location.bucket,
            Key: key,
            Body: body,
            ...(ifAbsent ? { IfNoneMatch: '*' } : {}),
          }),
        );
        return true;
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (ifAbsent && (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412)) return false;
        throw err;
      }
    });
  }

  /** The content of a small object, or undefined when there is none. */
  async text(key: string, max = 64 * 1024): Promise<string | undefined> {
    const got = await this.get(key, max);
    return got.found ? got.bytes.toString('utf8') : undefined;
  }

  /** Server-side copy of `fromKey` in `fromBucket` (this bucket by default) to `toKey` in this bucket. */
  copy(fromKey: string, toKey: string, fromBucket = this.location.bucket): Promise<void> {
    return this.call('CopyObject', toKey, async () => {
      await this.client.send(
        new this.api.CopyObjectCommand({
          Bucket: this.location.bucket,
          Key: toKey,
          CopySource: `${fromBucket}/${fromKey.split('/').map(encodeURIComponent).join('/')}`,
        }),
      );
    });
  }

  /** The "directories" directly under `prefix` (ListObjectsV2 with a delimiter), each ending in '/'. */
  async listDirs(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.call('ListObjectsV2', prefix, () =>
        this.client.send(
          new this.api.ListObjectsV2Command({
            Bucket: this.location.bucket,
            Prefix: prefix,
            Delimiter: '/',
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const p of r.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  /** DeleteObjects, 1,000 keys a request; any key the server did not delete is an error. */
  async remove(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      await this.call('DeleteObjects', chunk[0] ?? '', async () => {
        const r = await this.client.send(
          new this.api.DeleteObjectsCommand({
            Bucket: this.location.bucket,
            Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const failed = r.Errors?.[0];
        if (failed)
          throw new StorageError(
            `DeleteObjects s3://${this.location.bucket}/${failed.Key ?? ''}: ${failed.Code ?? 'error'} ${failed.Message ?? ''}`.trim(),
          );
      });
    }
  }

  close(): void {
    this.client.destroy();
  }

  private async call<T>(request: string, key: string, fn: () => Promise<T>, urgent = true): Promise<T> {
    try {
      return await this.limit.run(fn, urgent);
    } catch (err) {
      throw this.failure(err, `${request} s3://${this.location.bucket}/${key}`);
    }
  }

  /** The one line a user reads for a failed request. */
  private failure(err: unknown, what: string): Error {
    if (err instanceof StorageError) return err;
    const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const where = this.endpoint ?? 'AWS S3';
    const name = e.name ?? '';
    if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message ?? ''))
      return new StorageError(
        `no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a credentials file)`,
      );
    if (name === 'NoSuchBucket')
      return new StorageError(`bucket ${this.location.bucket} does not exist at ${where} (${what})`);
    if (name === 'AccessDenied' || status === 403)
      return new StorageError(`access denied: ${what} (${name || `HTTP ${status}`})`);
    if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch')
      return new StorageError(`${what}: the credentials were refused (${name})`);
    const code = e.code ?? (err as { cause?: { code?: string } }).cause?.code;
    if (
      code === 'ECONNREFUSED' ||
      code === 'ENOTFOUND' ||
      code === 'EAI_AGAIN' ||
      code === 'ETIMEDOUT' ||
      code === 'ECONNRESET' ||
      name === 'TimeoutError'
    )
      return new StorageError(`cannot reach ${where}: ${code ?? name} (${what})`);
    const msg = (e.message ?? String(err)).split('\n')[0];
    return new StorageError(`${what}: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}${msg ? `: ${msg}` : ''}`);
  }
}
