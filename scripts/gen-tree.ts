#!/usr/bin/env node
/**
 * Generator of synthetic but valid Docker Distribution filesystem storage trees, for the benchmark
 * (scripts/bench.ts) and for tests.
 *
 *   npx tsx scripts/gen-tree.ts --size small|medium|large|<files> --seed 1 --out DIR [--force]
 *
 * Writes DIR/docker/registry/v2/{blobs,repositories} in the registry's on-disk layout
 * (see docs/ and the storage reference, section 1) and DIR/summary.json (outside docker/).
 *
 * Everything is deterministic from the seed: same seed and size => byte-identical tree.
 * Blob contents are real: every blob lives under the sha256 of its bytes, every manifest is real
 * Docker schema2 / OCI JSON whose config and layer descriptors carry real digests and sizes.
 * Layers are tiny (a few dozen bytes, a handful of bigger ones) so that a 1M-file tree stays small.
 *
 * Shapes produced:
 *  - nested repository names (team3/svc12, team3/svc12/sidecar, team3/ml/model-4, a team that is
 *    itself a repository, digit-leading children like team3/svc12/2024), namespace-only directories;
 *  - layers shared across repositories (base images) and across revisions of one repository;
 *  - tags with history (tag index entries of earlier revisions), untagged revisions;
 *  - multi-arch images: Docker manifest lists and OCI indexes whose children are revisions in the repo;
 *  - API-deleted shapes: empty revision dirs (link removed, tag dirs removed), repositories whose
 *    `_manifests/tags` is empty, repositories whose manifests were all deleted, repositories with only
 *    `_layers` (aborted pushes);
 *  - in-flight / abandoned uploads (`_uploads/<uuid>/{data,startedat[,hashstates/sha256/<offset>]}`),
 *    empty `_uploads/` directories left after committed uploads;
 *  - a few orphan blobs (no repository links them).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MEDIA_TYPES } from '../src/layout/manifest.js';
import { DATA_FILE, LINK_FILE, STORAGE_PREFIX, pathFor, repoPathFor, repositoryPath } from '../src/layout/paths.js';

export type TreeSize = 'small' | 'medium' | 'large';

export interface GenOptions {
  /** Named size or a target number of files under docker/registry/v2. */
  size: TreeSize | number;
  seed: number;
  /** Layers added on top of every image (default 0: the default tree, byte for byte). */
  extraLayers?: number;
}

export interface Summary {
  seed: number;
  size: TreeSize | number;
  targetFiles: number;
  /** Directories under repositories/ with a `_layers` or `_manifests` child. */
  repositories: number;
  /** Repositories with at least one tag. */
  repositoriesActive: number;
  /** Repositories with revision links but no tag. */
  repositoriesUntagged: number;
  /** Repositories without any revision link (only `_layers`, or everything API-deleted). */
  repositoriesEmpty: number;
  /** Directories under repositories/ that are only namespaces (no `_*` child). */
  namespaceDirs: number;
  /** Tag directories with a current/link. */
  tags: number;
  tagIndexEntries: number;
  /** Revision link files. */
  revisions: number;
  /** Revision links not named by any tag's current link in the same repository. */
  untaggedRevisions: number;
  /** Revision directories left without a link (API delete). */
  emptyRevisionDirs: number;
  /** Revision links that name a manifest list / OCI index. */
  indexRevisions: number;
  layerLinks: number;
  /** Blob data files (blobs/sha256/xx/<hex>/data). */
  blobs: number;
  manifestBlobs: number;
  configBlobs: number;
  layerBlobs: number;
  /** Blobs linked by no repository (neither as layer nor as revision). */
  orphanBlobs: number;
  /** Upload directories `_uploads/<uuid>`. */
  uploads: number;
  /** Regular files under docker/registry/v2. */
  files: number;
  /** Directories under docker/registry/v2 (the v2 directory itself excluded). */
  dirs: number;
  /** Sum of blob data sizes. */
  totalBlobBytes: number;
  /** Sum of all file sizes under docker/registry/v2. */
  totalFileBytes: number;
}

export const SIZE_FILES: Record<TreeSize, number> = {
  small: 20_000,
  medium: 200_000,
  large: 1_000_000,
};

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (sfc32 seeded through splitmix32): fast, deterministic, good enough for shapes.

class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }
  /** [0, 1) */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(xs: readonly T[]): T {
    const x = xs[Math.floor(this.float() * xs.length)];
    if (x === undefined) throw new Error('pick from empty list');
    return x;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE(this.u32(), i);
    if (i < n) {
      const v = this.u32();
      for (let k = 0; i < n; i++, k++) b[i] = (v >>> (8 * k)) & 0xff;
    }
    return b;
  }
  hex(n: number): string {
    return this.bytes(Math.ceil(n / 2))
      .toString('hex')
      .slice(0, n);
  }
  uuid4(): string {
    const b = this.bytes(16);
    b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
    b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

// ---------------------------------------------------------------------------------------------

const MT = MEDIA_TYPES;

interface Blob {
  hex: string;
  digest: string;
  size: number;
}

interface Revision {
  blob: Blob;
  isIndex: boolean;
  /** true for the children of an index (pushed as part of a multi-arch image). */
  isChild: boolean;
}

type RepoKind = 'active' | 'untagged' | 'deleted' | 'layers-only';
type Format = 'docker' | 'oci';

const ARCHES = [
  { architecture: 'amd64', os: 'linux' },
  { architecture: 'arm64', os: 'linux', variant: 'v8' },
  { architecture: 'arm', os: 'linux', variant: 'v7' },
  { architecture: 'ppc64le', os: 'linux' },
] as const;

class Generator {
  readonly rng: Rng;
  readonly v2: string;
  readonly blobsDir: string;
  readonly reposDir: string;
  readonly target: number;
  private readonly written = new Map<string, number>(); // hex -> size
  private readonly fanout = new Set<string>();
  private readonly linkedAnywhere = new Set<string>();
  private readonly repoNames = new Set<string>();
  private readonly nsDirs = new Set<string>();
  private readonly svcRepos: string[] = [];
  private readonly baseImages: Blob[][][] = []; // [base][arch] -> layers
  private readonly teamCounters: number[] = [];
  private layerCounter = 0;
  private configCounter = 0;
  private readonly nTeams: number;
  private readonly nBases: number;
  private readonly maxRevisions: number;
  private readonly extraLayers: number;

  readonly s: Summary;

  constructor(dir: string, opts: GenOptions) {
    this.rng = new Rng(opts.seed);
    // Every path through the storage grammar (src/layout/paths.ts).
    this.v2 = path.join(dir, STORAGE_PREFIX);
    this.blobsDir = path.join(this.v2, pathFor({ kind: 'blobs', alg: 'sha256' }));
    this.reposDir = path.join(this.v2, repositoryPath(''));
    this.target = typeof opts.size === 'number' ? opts.size : SIZE_FILES[opts.size];
    const estRepos = Math.max(4, Math.round(this.target / 140));
    this.nTeams = Math.max(2, Math.round(Math.sqrt(estRepos) / 1.5));
    this.nBases = Math.max(3, Math.round(estRepos / 25));
    this.maxRevisions = Math.max(4, Math.floor(this.target / 120));
    this.extraLayers = opts.extraLayers ?? 0;
    this.s = {
      seed: opts.seed,
      size: opts.size,
      targetFiles: this.target,
      repositories: 0,
      repositoriesActive: 0,
      repositoriesUntagged: 0,
      repositoriesEmpty: 0,
      namespaceDirs: 0,
      tags: 0,
      tagIndexEntries: 0,
      revisions: 0,
      untaggedRevisions: 0,
      emptyRevisionDirs: 0,
      indexRevisions: 0,
      layerLinks: 0,
      blobs: 0,
      manifestBlobs: 0,
      configBlobs: 0,
      layerBlobs: 0,
      orphanBlobs: 0,
      uploads: 0,
      files: 0,
      dirs: 0,
      totalBlobBytes: 0,
      totalFileBytes: 0,
    };
  }

  // --- low-level writers -------------------------------------------------------------------

  private mkdir(p: string): void {
    mkdirSync(p);
    this.s.dirs++;
  }

  /** mkdir -p for a path below `base` (which must exist); counts the directories it creates. */
  private mkdirs(base: string, rel: string): string {
    let cur = base;
    for (const part of rel.split('/')) {
      cur = path.join(cur, part);
      if (!existsSync(cur)) this.mkdir(cur);
    }
    return cur;
  }

  private file(p: string, data: string | Buffer): void {
    writeFileSync(p, data);
    this.s.files++;
    this.s.totalFileBytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  }

  /** Writes a blob (once) and returns its descriptor. */
  private blob(data: Buffer | string, kind: 'layer' | 'config' | 'manifest'): Blob {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const hex = createHash('sha256').update(buf).digest('hex');
    const b: Blob = { hex, digest: `sha256:${hex}`, size: buf.length };
    if (this.written.has(hex)) return b;
    this.written.set(hex, buf.length);
    const fan = hex.slice(0, 2);
    const fanDir = path.join(this.blobsDir, fan);
    if (!this.fanout.has(fan)) {
      this.mkdir(fanDir);
      this.fanout.add(fan);
    }
    const d = path.join(fanDir, hex);
    this.mkdir(d);
    this.file(path.join(d, DATA_FILE), buf);
    this.s.blobs++;
    this.s.totalBlobBytes += buf.length;
    if (kind === 'layer') this.s.layerBlobs++;
    else if (kind === 'config') this.s.configBlobs++;
    else this.s.manifestBlobs++;
    return b;
  }

  /** `<parent>/<hex>/link` containing the digest, no newline. */
  private link(parent: string, b: Blob, grantsAccess = true): void {
    const d = path.join(parent, b.hex);
    this.mkdir(d);
    this.file(path.join(d, LINK_FILE), b.digest);
    if (grantsAccess) this.linkedAnywhere.add(b.hex);
  }

  // --- content ---------------------------------------------------------------------------------

  private newLayer(): Blob {
    const n = this.layerCounter++;
    // Mostly tiny layers; a handful of bigger ones so that sizes are not all alike.
    const size = this.rng.chance(0.0005) ? this.rng.int(32 * 1024, 256 * 1024) : this.rng.int(16, 160);
    const head = Buffer.from(`layer ${n}\n`);
    return this.blob(Buffer.concat([head, this.rng.bytes(Math.max(0, size - head.length))]), 'layer');
  }

  private baseLayers(base: number, arch: number): Blob[] {
    let b = this.baseImages[base];
    if (!b) {
      b = [];
      this.baseImages[base] = b;
    }
    let layers = b[arch];
    if (!layers) {
      layers = [];
      const n = this.rng.int(1, 4);
      for (let i = 0; i < n; i++) layers.push(this.newLayer());
      b[arch] = layers;
    }
    return layers;
  }

  private config(arch: number, layers: Blob[], label: string): Blob {
    const a = ARCHES[arch] ?? ARCHES[0];
    const n = this.configCounter++;
    const secs = 1_700_000_000 + n * 37 + this.rng.int(0, 30);
    const cfg = {
      architecture: a.architecture,
      os: a.os,
      ...('variant' in a ? { variant: a.variant } : {}),
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: ['/app/run'],
        Labels: { 'org.opencontainers.image.source': label, 'build.number': String(n) },
      },
      created: new Date(secs * 1000).toISOString(),
      rootfs: {
        type: 'layers',
        diff_ids: layers.map((l) => `sha256:${createHash('sha256').update(l.hex).digest('hex')}`),
      },
    };
    return this.blob(JSON.stringify(cfg), 'config');
  }

  private imageManifest(format: Format, config: Blob, layers: Blob[]): Blob {
    const docker = format === 'docker';
    const m = {
      schemaVersion: 2,
      mediaType: docker ? MT.dockerManifest : MT.ociManifest,
      config: { mediaType: docker ? MT.dockerConfig : MT.ociConfig, size: config.size, digest: config.digest },
      layers: layers.map((l) => ({ mediaType: docker ? MT.dockerLayer : MT.ociLayer, size: l.size, digest: l.digest })),
    };
    // Docker pretty-prints its manifests (3-space indent); OCI tooling usually writes compact JSON.
    return this.blob(docker ? JSON.stringify(m, null, 3) : JSON.stringify(m), 'manifest');
  }

  private indexManifest(format: Format, children: { blob: Blob; arch: number; mediaType: string }[]): Blob {
    const docker = format === 'docker';
    const m = {
      schemaVersion: 2,
      mediaType: docker ? MT.dockerList : MT.ociIndex,
      manifests: children.map((c) => {
        const a = ARCHES[c.arch] ?? ARCHES[0];
        return {
          mediaType: c.mediaType,
          size: c.blob.size,
          digest: c.blob.digest,
          platform: { architecture: a.architecture, os: a.os, ...('variant' in a ? { variant: a.variant } : {}) },
        };
      }),
    };
    return this.blob(docker ? JSON.stringify(m, null, 3) : JSON.stringify(m), 'manifest');
  }

  // --- names -----------------------------------------------------------------------------------

  private newRepoName(): string {
    for (let attempt = 0; ; attempt++) {
      const r = this.rng.float();
      const team = this.rng.int(0, this.nTeams - 1);
      const next = (): number => {
        const c = (this.teamCounters[team] ?? 0) + 1;
        this.teamCounters[team] = c;
        return c;
      };
      let name: string;
      let isSvc = false;
      if (r < 0.66 || attempt > 20) {
        name = `team${team}/svc${next()}`;
        isSvc = true;
      } else if (r < 0.76 && this.svcRepos.length > 0) {
        const parent = this.rng.pick(this.svcRepos);
        name = `${parent}/${this.rng.pick(['sidecar', 'migrations', '2024', 'debug', 'v2'])}`;
      } else if (r < 0.84) {
        name = `lib${this.rng.int(0, this.nTeams * 3)}`;
      } else if (r < 0.92) {
        name = `team${team}/ml/model-${next()}`;
      } else if (r < 0.95) {
        name = `team${team}`;
      } else {
        name = this.rng.pick([
          `team${team}/svc${next()}.legacy`,
          `tools/build__cache-${next()}`,
          `infra/base-images/debian_${next()}`,
          `team${team}/svc--${next()}`,
        ]);
      }
      if (this.repoNames.has(name)) continue;
      this.repoNames.add(name);
      if (isSvc) this.svcRepos.push(name);
      return name;
    }
  }

  // --- repositories ----------------------------------------------------------------------------

  private genRepo(): void {
    const rng = this.rng;
    const name = this.newRepoName();
    const k = rng.float();
    const kind: RepoKind = k < 0.86 ? 'active' : k < 0.92 ? 'untagged' : k < 0.96 ? 'deleted' : 'layers-only';
    const format: Format = rng.chance(0.7) ? 'docker' : 'oci';
    const multiArch = rng.chance(0.06);
    const arches = multiArch ? [0, 1, ...(rng.chance(0.3) ? [2] : [])] : [rng.chance(0.9) ? 0 : 1];
    const base = Math.floor(this.nBases * rng.float() ** 2);
    // revisions (top-level pushes): heavy-tailed
    let pushes = 1 + Math.floor(30 * rng.float() ** 3);
    if (rng.chance(0.02)) pushes = rng.int(60, 400);
    if (kind === 'layers-only') pushes = rng.int(1, 3);
    pushes = Math.min(pushes, this.maxRevisions);

    const repoDir = path.join(this.reposDir, ...name.split('/'));
    // parents: namespace dirs or existing repositories
    const parts = name.split('/');
    let cur = this.reposDir;
    for (let i = 0; i < parts.length; i++) {
      cur = path.join(cur, parts[i] ?? '');
      if (!existsSync(cur)) {
        this.mkdir(cur);
        if (i < parts.length - 1) this.nsDirs.add(parts.slice(0, i + 1).join('/'));
      }
    }
    this.nsDirs.delete(name);

    const layerSet = new Map<string, Blob>();
    const revisions: Revision[] = [];
    const pushed: Revision[] = []; // top-level, push order
    // per-arch repo-local dependency layers (change rarely)
    const deps: Blob[][] = arches.map(() => []);
    const depCount = rng.int(0, 2);

    for (let p = 0; p < pushes; p++) {
      const children: { blob: Blob; arch: number; mediaType: string }[] = [];
      for (let ai = 0; ai < arches.length; ai++) {
        const arch = arches[ai] ?? 0;
        const layers = [...this.baseLayers(base, arch)];
        let d = deps[ai] ?? [];
        if (d.length !== depCount || rng.chance(0.15)) {
          d = [];
          for (let i = 0; i < depCount; i++) d.push(this.newLayer());
          deps[ai] = d;
        }
        layers.push(...d);
        const top = (rng.chance(0.2) ? 2 : 1) + this.extraLayers;
        for (let i = 0; i < top; i++) layers.push(this.newLayer());
        const cfg = this.config(arch, layers, `${name}@${p}`);
        for (const l of layers) layerSet.set(l.hex, l);
        layerSet.set(cfg.hex, cfg);
        if (kind === 'layers-only') continue;
        const m = this.imageManifest(format, cfg, layers);
        children.push({ blob: m, arch, mediaType: format === 'docker' ? MT.dockerManifest : MT.ociManifest });
      }
      if (kind === 'layers-only') continue;
      if (multiArch) {
        for (const c of children) revisions.push({ blob: c.blob, isIndex: false, isChild: true });
        const idx = this.indexManifest(format, children);
        const r: Revision = { blob: idx, isIndex: true, isChild: false };
        revisions.push(r);
        pushed.push(r);
      } else {
        const c = children[0];
        if (!c) throw new Error('no manifest');
        const r: Revision = { blob: c.blob, isIndex: false, isChild: false };
        revisions.push(r);
        pushed.push(r);
      }
    }

    // --- tags: name -> history (push order, last = current)
    const tags = new Map<string, Revision[]>();
    const tagPush = (t: string, r: Revision): void => {
      const h = tags.get(t);
      if (h) {
        if (h[h.length - 1] !== r) h.push(r);
      } else tags.set(t, [r]);
    };
    const minor = rng.int(0, 9);
    pushed.forEach((r, i) => {
      if (i === pushed.length - 1 || rng.chance(0.75)) tagPush('latest', r);
      if (rng.chance(0.35)) tagPush(`v1.${minor}.${i}`, r);
      if (rng.chance(0.2)) tagPush(rng.pick(['main', 'dev', 'staging', 'prod', '_build', 'RC1']), r);
      if (rng.chance(0.1)) tagPush(`sha-${r.blob.hex.slice(0, 7)}`, r);
    });
    // a tag re-pushed to an older revision (moved back: history not monotonic)
    if (pushed.length > 2 && rng.chance(0.05)) {
      const older = pushed[rng.int(0, pushed.length - 2)];
      if (older) tagPush('prod', older);
    }

    // --- API deletes
    const deleted = new Set<Revision>();
    if (kind === 'deleted') {
      for (const r of revisions) deleted.add(r);
    } else if (kind === 'active') {
      for (let i = 0; i < pushed.length - 1; i++) {
        const r = pushed[i];
        if (r && rng.chance(0.04)) deleted.add(r);
      }
    }
    const liveTags = new Map<string, Revision[]>();
    if (kind === 'active') {
      for (const [t, h] of tags) {
        const current = h[h.length - 1];
        if (current && !deleted.has(current)) liveTags.set(t, h);
      }
    }

    // --- write the repository
    // _layers
    if (layerSet.size > 0) {
      const ld = this.mkdirs(repoDir, repoPathFor({ kind: 'layersDir', alg: 'sha256' }));
      for (const b of layerSet.values()) {
        this.link(ld, b);
        this.s.layerLinks++;
      }
    }
    // _manifests
    if (kind !== 'layers-only') {
      const rd = this.mkdirs(repoDir, repoPathFor({ kind: 'revisionsDir', alg: 'sha256' }));
      const currents = new Set<string>();
      for (const h of liveTags.values()) {
        const c = h[h.length - 1];
        if (c) currents.add(c.blob.hex);
      }
      for (const r of revisions) {
        if (deleted.has(r)) {
          this.mkdir(path.join(rd, r.blob.hex));
          this.s.emptyRevisionDirs++;
          continue;
        }
        this.link(rd, r.blob);
        this.s.revisions++;
        if (r.isIndex) this.s.indexRevisions++;
        if (!currents.has(r.blob.hex)) this.s.untaggedRevisions++;
      }
      this.mkdirs(repoDir, repoPathFor({ kind: 'tagsDir' }));
      for (const [t, h] of liveTags) {
        this.mkdir(path.join(repoDir, repoPathFor({ kind: 'tagDir', tag: t })));
        this.mkdir(path.join(repoDir, repoPathFor({ kind: 'tagCurrentDir', tag: t })));
        const c = h[h.length - 1];
        if (!c) continue;
        this.file(path.join(repoDir, repoPathFor({ kind: 'tagCurrentLink', tag: t })), c.blob.digest);
        this.s.tags++;
        const idx = this.mkdirs(repoDir, repoPathFor({ kind: 'tagIndexDir', tag: t, alg: 'sha256' }));
        const seen = new Set<string>();
        for (const r of h) {
          if (seen.has(r.blob.hex)) continue;
          seen.add(r.blob.hex);
          this.link(idx, r.blob, false);
          this.s.tagIndexEntries++;
        }
      }
    }
    // _uploads: usually an empty dir (left after committed uploads), sometimes in-flight ones
    if (rng.chance(0.9)) {
      this.mkdirs(repoDir, repoPathFor({ kind: 'part', part: '_uploads' }));
      if (rng.chance(kind === 'layers-only' ? 0.5 : 0.03)) {
        const n = rng.int(1, 3);
        for (let i = 0; i < n; i++) {
          const id = rng.uuid4();
          const u = path.join(repoDir, repoPathFor({ kind: 'upload', id }));
          this.mkdir(u);
          this.file(path.join(repoDir, repoPathFor({ kind: 'uploadData', id })), rng.bytes(rng.int(0, 512)));
          const t = 1_700_000_000 + rng.int(0, 40_000_000);
          const startedAt = new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
          this.file(path.join(repoDir, repoPathFor({ kind: 'uploadStartedAt', id })), startedAt);
          if (rng.chance(0.3)) {
            const hs = this.mkdirs(u, 'hashstates/sha256');
            this.file(path.join(hs, String(rng.int(0, 512))), rng.bytes(108));
          }
          this.s.uploads++;
        }
      }
    }

    this.s.repositories++;
    const liveRevisions = revisions.filter((r) => !deleted.has(r)).length;
    if (liveTags.size > 0) this.s.repositoriesActive++;
    else if (liveRevisions > 0) this.s.repositoriesUntagged++;
    else this.s.repositoriesEmpty++;

    // an orphan blob now and then (pushed, then the repository was removed by hand)
    if (rng.chance(0.01)) this.newLayer();
  }

  run(): Summary {
    this.mkdirs(this.v2, pathFor({ kind: 'blobs', alg: 'sha256' }));
    this.mkdirs(this.v2, repositoryPath(''));
    this.s.dirs = 3; // blobs, blobs/sha256, repositories (v2 itself not counted)
    while (this.s.files < this.target) this.genRepo();
    this.s.namespaceDirs = this.nsDirs.size;
    let orphans = 0;
    for (const hex of this.written.keys()) if (!this.linkedAnywhere.has(hex)) orphans++;
    this.s.orphanBlobs = orphans;
    return this.s;
  }
}

/**
 * Generates a storage tree under `dir` (creating `dir/docker/registry/v2`) and writes `dir/summary.json`.
 * Refuses to write into an existing `dir/docker`.
 */
export function generateTree(dir: string, opts: GenOptions): Summary {
  if (existsSync(path.join(dir, 'docker'))) throw new Error(`${path.join(dir, 'docker')} already exists`);
  mkdirSync(path.join(dir, 'docker', 'registry', 'v2'), { recursive: true });
  const s = new Generator(dir, opts).run();
  writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(s, null, 2) + '\n');
  return s;
}

function parseSize(v: string): TreeSize | number {
  if (v === 'small' || v === 'medium' || v === 'large') return v;
  const n = Number(v.replace(/[_,]/g, '').replace(/k$/i, '000').replace(/m$/i, '000000'));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bad --size ${v}`);
  return n;
}

function main(argv: string[]): void {
  let size: TreeSize | number = 'small';
  let seed = 1;
  let out: string | undefined;
  let force = false;
  let extraLayers = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--size') size = parseSize(v());
    else if (a === '--seed') seed = Number(v());
    else if (a === '--out') out = v();
    else if (a === '--force') force = true;
    else if (a === '--extra-layers') extraLayers = Number(v());
    else if (a === '-h' || a === '--help') {
      console.log(
        'usage: gen-tree --size small|medium|large|<files> [--seed N] [--extra-layers N] --out DIR [--force]',
      );
      return;
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!out) throw new Error('--out DIR is required');
  if (force) {
    rmSync(path.join(out, 'docker'), { recursive: true, force: true });
    rmSync(path.join(out, 'summary.json'), { force: true });
  }
  const t0 = performance.now();
  const s = generateTree(out, { size, seed, extraLayers });
  const secs = (performance.now() - t0) / 1000;
  console.log(JSON.stringify(s, null, 2));
  console.error(`generated ${s.files} files, ${s.dirs} dirs in ${secs.toFixed(1)} s -> ${out}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
