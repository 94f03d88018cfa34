#!/usr/bin/env node
/**
 * The floor of an audit of registry storage in a bucket: list the prefix flat (ListObjectsV2, one
 * page after the other) and GET only what cannot be known from the listing (every upload's startedat,
 * every distinct manifest a revision link names; a tag's current/link is taken as proven by its ETag),
 * `--requests` GETs in flight. No parsing beyond that, no index. Prints {"keys", "requests": {LIST, GET}} on stdout.
 *
 *   node dist/scripts/s3-floor.js s3://BUCKET/ROOTDIRECTORY [--requests 32]   (AWS_ENDPOINT_URL_S3 etc.)
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { S3Client, ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');

const [target, ...rest] = process.argv.slice(2);
const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(target ?? '');
if (!m) throw new Error('usage: s3-floor s3://BUCKET/ROOTDIRECTORY [--requests N]');
const bucket = m[1]!;
const root = m[2]!.replace(/\/+$/, '');
const prefix = `${root ? `${root}/` : ''}docker/registry/v2/`;
const requests = rest[0] === '--requests' ? Number(rest[1]) : 32;
const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
const client = new S3Client({
  region: process.env.AWS_REGION ?? 'us-east-1',
  ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  requestHandler: { httpAgent: { keepAlive: true, maxSockets: requests } },
});

const counts = { LIST: 0, GET: 0 };
const queue: string[] = [];
const seen = new Set<string>();
let active = 0;
let wake: (() => void) | undefined;

async function get(key: string): Promise<void> {
  counts.GET++;
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await r.Body?.transformToByteArray();
}

function pump(): void {
  while (active < requests && queue.length > 0) {
    const key = queue.pop()!;
    active++;
    void get(key).then(() => {
      active--;
      pump();
      wake?.();
    });
  }
}

function want(key: string): void {
  queue.push(key);
  pump();
}

let token: string | undefined;
let keys = 0;
do {
  counts.LIST++;
  const page = await client.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
  );
  for (const o of page.Contents ?? []) {
    keys++;
    const k = o.Key!;
    if (k.endsWith('/startedat')) want(k);
    const rev = /\/_manifests\/revisions\/sha256\/([0-9a-f]{64})\/link$/.exec(k);
    if (rev && !seen.has(rev[1]!)) {
      seen.add(rev[1]!);
      want(`${prefix}blobs/sha256/${rev[1]!.slice(0, 2)}/${rev[1]!}/data`);
    }
  }
  token = page.IsTruncated ? page.NextContinuationToken : undefined;
} while (token);
while (active > 0 || queue.length > 0) await new Promise<void>((r) => (wake = r));
client.destroy();
process.stdout.write(`${JSON.stringify({ keys, requests: counts })}\n`);
