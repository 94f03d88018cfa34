/**
 * The connection settings of this process's object-storage roots (`--endpoint`, `--path-style`,
 * `--requests`): set once by the command line before a command runs, read when a bucket is opened.
 * Kept here rather than threaded through every use case, which do not otherwise know about buckets.
 */
export interface S3Settings {
  /** `--endpoint`, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; none means AWS itself. */
  endpoint?: string;
  /** `--path-style`: path-style addressing even without an endpoint. */
  pathStyle?: boolean;
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
