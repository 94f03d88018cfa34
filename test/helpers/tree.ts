/**
 * The one storage-tree builder of the tests and scripts/gen-tree.ts: every path through the grammar
 * (src/layout/paths.ts). Tests use it for the shapes the real registry cannot produce (crash
 * debris, garbage links, 3.x-only layouts; git keeps no empty directories, so trees are built at
 * test time); the benchmark generator for its million-file trees, hence the counters and a
 * directory creation that costs no extra system call when the parent already exists.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, lstatSync, utimesSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Digest } from '../../src/layout/digest.js';
import { BLOBS, REPOSITORIES, STORAGE_PREFIX, inRepository, pathFor } from '../../src/layout/paths.js';

export function sha256(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

export class StorageTree {
  /** The registry rootdirectory. */
  readonly root: string;
  /** root/docker/registry/v2 */
  readonly v2: string;
  /** What this builder created below v2 (not counting repositories/ and blobs/ themselves). */
  readonly made = { dirs: 0, files: 0, bytes: 0 };
  /** Byte size of every blob written, by digest: what manifests declare. */
  private readonly sizes = new Map<string, number>();

  constructor(root?: string) {
    this.root = root ?? mkdtempSync(path.join(tmpdir(), 'regaudit-tree-'));
    this.v2 = path.join(this.root, STORAGE_PREFIX);
    mkdirSync(path.join(this.v2, REPOSITORIES), { recursive: true });
    mkdirSync(path.join(this.v2, BLOBS), { recursive: true });
  }

  /** Writes a file (creating parents) at a path relative to v2. */
  file(rel: string, content: string | Buffer): this {
    const abs = path.join(this.v2, rel);
    try {
      writeFileSync(abs, content);
    } catch (e) {
      if (code(e) !== 'ENOENT') throw e;
      this.mkdirs(path.dirname(abs));
      writeFileSync(abs, content);
    }
    this.made.files++;
    this.made.bytes += typeof content === 'string' ? Buffer.byteLength(content) : content.length;
    return this;
  }

  /** mkdir -p of a path relative to v2. */
  dir(rel: string): this {
    this.created(rel);
    return this;
  }

  /** mkdir -p of a path relative to v2; true when this call created it. */
  created(rel: string): boolean {
    return this.mkdirs(path.join(this.v2, rel));
  }

  private mkdirs(abs: string): boolean {
    try {
      mkdirSync(abs);
    } catch (e) {
      if (code(e) === 'EEXIST') return false;
      if (code(e) !== 'ENOENT') throw e;
      this.mkdirs(path.dirname(abs));
      mkdirSync(abs);
    }
    this.made.dirs++;
    return true;
  }

  remove(rel: string): this {
    rmSync(path.join(this.v2, rel), { recursive: true, force: true });
    return this;
  }

  /** Stores a blob; returns its digest. */
  blob(content: string | Buffer): string {
    const d = sha256(content);
    this.file(pathFor({ kind: 'blobData', digest: d as Digest }), content);
    this.sizes.set(d, typeof content === 'string' ? Buffer.byteLength(content) : content.length);
    return d;
  }

  /** The size of a blob this tree wrote (what a descriptor of it declares). */
  sizeOf(digest: string): number {
    const n = this.sizes.get(digest);
    if (n === undefined) throw new Error(`${digest} was not written by this tree`);
    return n;
  }

  layerLink(repo: string, digest: string, content: string = digest): this {
    return this.file(pathFor({ kind: 'layerLink', repo, digest: digest as Digest }), content);
  }

  revisionLink(repo: string, digest: string, content: string = digest): this {
    return this.file(pathFor({ kind: 'revisionLink', repo, digest: digest as Digest }), content);
  }

  tagLink(repo: string, tag: string, digest: string, content: string = digest): this {
    this.file(pathFor({ kind: 'tagIndexLink', repo, tag, digest: digest as Digest }), digest);
    return this.file(pathFor({ kind: 'tagCurrentLink', repo, tag }), content);
  }

  upload(repo: string, id: string, startedAt: string | null, data = ''): this {
    if (startedAt !== null) this.file(pathFor({ kind: 'uploadStartedAt', repo, id }), startedAt);
    return this.file(pathFor({ kind: 'uploadData', repo, id }), data);
  }

  /** A schema2 image: config + layers as blobs linked in the repository, manifest, revision, tag. */
  image(
    repo: string,
    tag: string | null,
    layers: string[],
    opts: { mediaType?: string } = {},
  ): { manifest: string; config: string; layers: string[] } {
    const config = this.blob(JSON.stringify({ architecture: 'amd64', os: 'linux', layers }));
    const layerDigests = layers.map((l) => this.blob(l));
    const manifestJson = JSON.stringify({
      schemaVersion: 2,
      mediaType: opts.mediaType ?? 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: this.sizeOf(config),
        digest: config,
      },
      layers: layerDigests.map((d) => ({
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        size: this.sizeOf(d),
        digest: d,
      })),
    });
    const manifest = this.blob(manifestJson);
    for (const d of [config, ...layerDigests]) this.layerLink(repo, d);
    this.revisionLink(repo, manifest);
    if (tag !== null) this.tagLink(repo, tag, manifest);
    return { manifest, config, layers: layerDigests };
  }

  /**
   * Any manifest document (schema1, OCI with subject or foreign layers, garbage text) stored as a
   * blob with a revision link and, when `tag` is given, a tag. Links nothing in `_layers`.
   */
  manifest(repo: string, tag: string | null, doc: object | string): string {
    const digest = this.blob(typeof doc === 'string' ? doc : JSON.stringify(doc));
    this.revisionLink(repo, digest);
    if (tag !== null) this.tagLink(repo, tag, digest);
    return digest;
  }

  /** An OCI image index over child manifests (already revisions of `repo`), with one platform each. */
  index(
    repo: string,
    tag: string | null,
    children: string[],
    arches: string[] = ['amd64', 'arm64', 's390x', 'ppc64le'],
  ): string {
    return this.manifest(repo, tag, {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: children.map((digest, i) => ({
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        digest,
        size: this.sizeOf(digest),
        platform: { os: 'linux', architecture: arches[i] ?? `arch${i}` },
      })),
    });
  }

  /** What an API delete of a manifest leaves: the revision link file removed (its dir stays), tags pointing at it removed. */
  apiDelete(repo: string, manifest: string, tags: string[]): this {
    rmSync(path.join(this.v2, pathFor({ kind: 'revisionLink', repo, digest: manifest as Digest })), { force: true });
    for (const tag of tags)
      rmSync(path.join(this.v2, inRepository(repo, { kind: 'tagDir', tag })), { recursive: true, force: true });
    return this;
  }

  /** Sets every mtime under v2 to `ms` ago, so --min-age does not hold repositories back. */
  age(ms: number): this {
    const t = (Date.now() - ms) / 1000;
    const walk = (abs: string): void => {
      for (const e of readdirSync(abs, { withFileTypes: true })) {
        const p = path.join(abs, e.name);
        if (e.isDirectory()) walk(p);
        if (!e.isSymbolicLink()) utimesSync(p, t, t);
      }
      utimesSync(abs, t, t);
    };
    walk(this.v2);
    return this;
  }

  /** Every path under v2 with type, size and mtime: equal listings mean nothing changed. */
  listing(): string[] {
    const out: string[] = [];
    const walk = (abs: string, rel: string): void => {
      for (const e of readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const p = path.join(abs, e.name);
        const r = rel ? `${rel}/${e.name}` : e.name;
        const st = lstatSync(p);
        out.push(`${r} ${e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : 'f'} ${st.size} ${st.mtimeMs}`);
        if (e.isDirectory()) walk(p, r);
      }
    };
    walk(this.v2, '');
    return out;
  }

  exists(rel: string): boolean {
    try {
      lstatSync(path.join(this.v2, rel));
      return true;
    } catch {
      return false;
    }
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
