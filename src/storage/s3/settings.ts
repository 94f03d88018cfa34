/**
 * The connection settings of this process's object-storage roots (`--endpoint`, `--path-style`,
 * `--requests`): set once by the command line before a command runs, read when a bucket is opened.
 * Kept here rather than threaded through every use case, which do not otherwise know about buckets.
 */
export interface S3Settings {
  /** `--endpoint`, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; none means AWS itself. */
  endpoint?: string;
  /**
   * Path-style addressing: `--path-style` (true), or the registry config's `forcepathstyle`; unset,
   * it follows the endpoint (path-style whenever one is given).
   */
  pathStyle?: boolean;
  /** The registry config's `region`; unset: AWS_REGION, AWS_DEFAULT_REGION, us-east-1. */
  region?: string;
  /** The registry config's `accesskey`/`secretkey`; unset: the SDK's default credential chain. Never printed. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Requests in flight (`--requests`, default 32). */
  requests?: number;
}

let current: S3Settings = {};

export function useS3Settings(s: S3Settings): void {
  current = { ...s };
}

export function s3Settings(): S3Settings {
  return current;
}

/** Settings from the registry's config under those of the command line: what the command line sets wins. Pure. */
export function overlayS3Settings(fromConfig: S3Settings, fromCommandLine: S3Settings): S3Settings {
  const out: S3Settings = { ...fromConfig };
  for (const [k, v] of Object.entries(fromCommandLine) as Array<[keyof S3Settings, unknown]>)
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
