/*
 * floor: the least work an offline audit of a Docker Distribution filesystem store must do, written
 * as plainly and as fast as possible, to give the benchmark a floor to compare against.
 *
 *   cc -O2 -pthread -o floor scripts/floor.c
 *   ./floor ROOT [THREADS] [layout|generic]      (ROOT contains docker/registry/v2; default: 1 layout)
 *
 * Both modes read every `link` file fully, every upload `startedat`, stat every blob `data` and every
 * other upload file, then read fully every manifest blob (each distinct digest named by a
 * `_manifests/revisions/` link). They differ in how they reach those files:
 *
 * layout (the default; what `regaudit scan` does by default, with nothing wasted):
 *   follows the known layout, every open relative to a directory descriptor (openat, fstatat), every
 *   listing a raw getdents64 with a 256 KiB buffer; a digest directory (`<alg>/<hex>/`) is never
 *   listed: its `link` is opened by name (`openat(algfd, "<hex>/link")`) and a blob's `data` is
 *   fstatat-ed by name, as the registry reaches them; only when that fails is the directory listed.
 *   Work units: one directory under repositories/ (its repository parts read in place, namespace
 *   children queued) and one blob fan-out directory `blobs/<alg>/<xx>`.
 * generic (the previous floor): lists every directory by path with opendir/readdir (d_type; lstat only
 *   on DT_UNKNOWN), each directory a work unit; reads each `link` and `startedat` it lists, stats each
 *   blob `data`.
 *
 * Both run on THREADS pthreads sharing a LIFO work queue; the manifests are read afterwards on the same
 * threads in digest order. No parsing, nothing written. Prints one line of counts (key=value) so the
 * caller can check that the work was done (files and dirs against the tree's summary).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------------
 * counters: per thread, summed at the end */

typedef struct {
  long files, dirs, links, link_bytes, blobs, blob_bytes, startedat, errors, manifests, manifest_bytes;
} counts_t;

static void add_counts(counts_t *to, const counts_t *c) {
  to->files += c->files;
  to->dirs += c->dirs;
  to->links += c->links;
  to->link_bytes += c->link_bytes;
  to->blobs += c->blobs;
  to->blob_bytes += c->blob_bytes;
  to->startedat += c->startedat;
  to->errors += c->errors;
  to->manifests += c->manifests;
  to->manifest_bytes += c->manifest_bytes;
}

/* ------------------------------------------------------------------------------------------------
 * the work queue (LIFO), shared by both modes */

typedef struct {
  int kind; /* layout: T_NS or T_FAN; generic: 0 */
  char *path;
} task_t;

enum { T_NS = 1, T_FAN = 2 };

static struct {
  task_t *items;
  size_t len, cap;
  size_t busy; /* threads currently running a task */
  int done;
  pthread_mutex_t mu;
  pthread_cond_t cv;
} q = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void q_push(int kind, char *p) {
  pthread_mutex_lock(&q.mu);
  if (q.len == q.cap) {
    q.cap = q.cap ? q.cap * 2 : 1024;
    q.items = realloc(q.items, q.cap * sizeof *q.items);
    if (!q.items) abort();
  }
  q.items[q.len++] = (task_t){kind, p};
  pthread_cond_signal(&q.cv);
  pthread_mutex_unlock(&q.mu);
}

/* returns 0 when the walk is over */
static int q_pop(task_t *t) {
  pthread_mutex_lock(&q.mu);
  for (;;) {
    if (q.len > 0) {
      *t = q.items[--q.len];
      q.busy++;
      pthread_mutex_unlock(&q.mu);
      return 1;
    }
    if (q.busy == 0 || q.done) {
      q.done = 1;
      pthread_cond_broadcast(&q.cv);
      pthread_mutex_unlock(&q.mu);
      return 0;
    }
    pthread_cond_wait(&q.cv, &q.mu);
  }
}

static void q_finished_one(void) {
  pthread_mutex_lock(&q.mu);
  q.busy--;
  if (q.busy == 0 && q.len == 0) {
    q.done = 1;
    pthread_cond_broadcast(&q.cv);
  }
  pthread_mutex_unlock(&q.mu);
}

static char *join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *p = malloc(la + 1 + lb + 1);
  if (!p) abort();
  memcpy(p, a, la);
  p[la] = '/';
  memcpy(p + la + 1, b, lb + 1);
  return p;
}

/* ------------------------------------------------------------------------------------------------
 * manifest digests (64 hex chars each) named by revision links, per thread, merged after the walk */

typedef struct {
  char (*d)[65];
  size_t len, cap;
} digests_t;

static void add_digest(digests_t *dg, const char *buf, long n) {
  if (n != 71 || memcmp(buf, "sha256:", 7) != 0) return;
  if (dg->len == dg->cap) {
    dg->cap = dg->cap ? dg->cap * 2 : 4096;
    dg->d = realloc(dg->d, dg->cap * sizeof *dg->d);
    if (!dg->d) abort();
  }
  memcpy(dg->d[dg->len], buf + 7, 64);
  dg->d[dg->len][64] = 0;
  dg->len++;
}

typedef struct {
  counts_t c;
  digests_t dg;
  char *dents; /* getdents64 buffer (layout mode) */
} worker_t;

/* Reads a small file opened relative to dirfd: one read, a second only when the buffer filled. */
static long read_small(worker_t *w, int dirfd, const char *name, char *buf, size_t cap) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  long total = 0;
  for (;;) {
    ssize_t r = read(fd, buf + total, cap - (size_t)total);
    if (r < 0) {
      if (errno == EINTR) continue;
      w->c.errors++;
      break;
    }
    if (r == 0) break;
    total += r;
    if ((size_t)total < cap) break; /* a short read of a regular file is its end */
    char tmp[4096];
    while ((r = read(fd, tmp, sizeof tmp)) > 0) total += r;
    break;
  }
  close(fd);
  return total;
}

static char blobs_root[4200]; /* ".../docker/registry/v2/blobs/" (generic mode) */
static int v2fd = -1, blobs_sha_fd = -1;

/* ------------------------------------------------------------------------------------------------
 * layout mode */

#define DENTS_BYTES (256 * 1024)

typedef struct {
  char *name;
  unsigned char type;
} ent_t;

typedef struct {
  ent_t *e;
  size_t len, cap;
  char *names; /* the names, packed */
  size_t nlen, ncap;
} list_t;

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static void list_free(list_t *l) {
  free(l->e);
  free(l->names);
}

/* Lists the open directory fd (raw getdents64), counting it; types resolved with fstatat only when unknown. */
static int list_fd(worker_t *w, int fd, list_t *out) {
  memset(out, 0, sizeof *out);
  w->c.dirs++;
  for (;;) {
    long n = syscall(SYS_getdents64, fd, w->dents, DENTS_BYTES);
    if (n < 0) {
      if (errno == EINTR) continue;
      w->c.errors++;
      return -1;
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(w->dents + off);
      off += d->d_reclen;
      const char *nm = d->d_name;
      if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
      size_t nl = strlen(nm) + 1;
      if (out->nlen + nl > out->ncap) {
        out->ncap = out->ncap ? out->ncap * 2 + nl : 4096 + nl;
        out->names = realloc(out->names, out->ncap);
        if (!out->names) abort();
      }
      memcpy(out->names + out->nlen, nm, nl);
      if (out->len == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 64;
        out->e = realloc(out->e, out->cap * sizeof *out->e);
        if (!out->e) abort();
      }
      unsigned char t = d->d_type;
      if (t == DT_UNKNOWN) {
        struct stat st;
        t = fstatat(fd, nm, &st, AT_SYMLINK_NOFOLLOW) != 0 ? DT_UNKNOWN
            : S_ISDIR(st.st_mode)                          ? DT_DIR
            : S_ISREG(st.st_mode)                          ? DT_REG
                                                           : DT_UNKNOWN;
      }
      out->e[out->len++] = (ent_t){(char *)(uintptr_t)out->nlen, t}; /* offset now, pointer below */
      out->nlen += nl;
    }
  }
  for (size_t i = 0; i < out->len; i++) out->e[i].name = out->names + (uintptr_t)out->e[i].name;
  return 0;
}

static int open_dir(worker_t *w, int at, const char *name) {
  int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) w->c.errors++;
  return fd;
}

/* Lists the directory `name` under `at`; 0 on success (then list_free it). */
static int list_at(worker_t *w, int at, const char *name, int *fd_out, list_t *out) {
  int fd = open_dir(w, at, name);
  if (fd < 0) return -1;
  if (list_fd(w, fd, out) != 0) {
    list_free(out);
    close(fd);
    return -1;
  }
  if (fd_out)
    *fd_out = fd;
  else
    close(fd);
  return 0;
}

/* A link read by name: true when it was there. */
static int link_by_name(worker_t *w, int at, const char *rel, int revision) {
  char buf[4096];
  long n = read_small(w, at, rel, buf, sizeof buf);
  if (n < 0) return 0;
  w->c.files++;
  w->c.links++;
  w->c.link_bytes += n;
  if (revision) add_digest(&w->dg, buf, n);
  return 1;
}

/* A digest directory whose file could not be reached by name: list it, read its link if any. */
static void digest_dir_listed(worker_t *w, int at, const char *hex, int revision) {
  int fd;
  list_t l;
  if (list_at(w, at, hex, &fd, &l) != 0) return;
  for (size_t i = 0; i < l.len; i++) {
    if (l.e[i].type != DT_REG) continue;
    if (strcmp(l.e[i].name, "link") != 0)
      w->c.files++;
    else if (!link_by_name(w, fd, "link", revision))
      w->c.errors++;
  }
  list_free(&l);
  close(fd);
}

/* `<name>/<alg>/<hex>/link` trees: _layers, _manifests/revisions, tags/<t>/index. */
static void digest_tree(worker_t *w, int at, const char *name, int revision) {
  int tfd;
  list_t algs;
  if (list_at(w, at, name, &tfd, &algs) != 0) return;
  char rel[600];
  for (size_t i = 0; i < algs.len; i++) {
    if (algs.e[i].type != DT_DIR) continue;
    int afd;
    list_t hexes;
    if (list_at(w, tfd, algs.e[i].name, &afd, &hexes) != 0) continue;
    for (size_t j = 0; j < hexes.len; j++) {
      if (hexes.e[j].type != DT_DIR) continue;
      snprintf(rel, sizeof rel, "%s/link", hexes.e[j].name);
      if (link_by_name(w, afd, rel, revision))
        w->c.dirs++; /* the digest directory, reached by name */
      else
        digest_dir_listed(w, afd, hexes.e[j].name, revision);
    }
    list_free(&hexes);
    close(afd);
  }
  list_free(&algs);
  close(tfd);
}

static void tags(worker_t *w, int at) {
  int tfd;
  list_t ts;
  if (list_at(w, at, "tags", &tfd, &ts) != 0) return;
  for (size_t i = 0; i < ts.len; i++) {
    if (ts.e[i].type != DT_DIR) continue;
    int fd;
    list_t inner;
    if (list_at(w, tfd, ts.e[i].name, &fd, &inner) != 0) continue;
    for (size_t j = 0; j < inner.len; j++) {
      if (inner.e[j].type != DT_DIR) continue;
      if (strcmp(inner.e[j].name, "index") == 0)
        digest_tree(w, fd, "index", 0);
      else if (strcmp(inner.e[j].name, "current") == 0) {
        if (link_by_name(w, fd, "current/link", 0))
          w->c.dirs++;
        else
          digest_dir_listed(w, fd, "current", 0);
      }
    }
    list_free(&inner);
    close(fd);
  }
  list_free(&ts);
  close(tfd);
}

/* Everything in an upload directory: startedat read, every other file stat'ed. */
static void upload_tree(worker_t *w, int at, const char *name, int top) {
  int fd;
  list_t l;
  if (list_at(w, at, name, &fd, &l) != 0) return;
  for (size_t i = 0; i < l.len; i++) {
    if (l.e[i].type == DT_DIR) {
      upload_tree(w, fd, l.e[i].name, 0);
      continue;
    }
    if (l.e[i].type != DT_REG) continue;
    w->c.files++;
    char buf[4096];
    struct stat st;
    if (top && strcmp(l.e[i].name, "startedat") == 0) {
      if (read_small(w, fd, "startedat", buf, sizeof buf) >= 0)
        w->c.startedat++;
      else
        w->c.errors++;
    } else if (fstatat(fd, l.e[i].name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      w->c.errors++;
  }
  list_free(&l);
  close(fd);
}

/* A directory under repositories/ (`rel` relative to v2): its repository parts, its namespace children. */
static void ns_task(worker_t *w, char *rel) {
  int fd;
  list_t l;
  if (list_at(w, v2fd, rel, &fd, &l) != 0) {
    free(rel);
    return;
  }
  for (size_t i = 0; i < l.len; i++) {
    const char *nm = l.e[i].name;
    if (l.e[i].type != DT_DIR) {
      if (l.e[i].type == DT_REG) w->c.files++;
      continue;
    }
    if (nm[0] != '_') {
      q_push(T_NS, join(rel, nm));
      continue;
    }
    if (strcmp(nm, "_layers") == 0)
      digest_tree(w, fd, "_layers", 0);
    else if (strcmp(nm, "_manifests") == 0) {
      int mfd;
      list_t m;
      if (list_at(w, fd, "_manifests", &mfd, &m) != 0) continue;
      for (size_t j = 0; j < m.len; j++) {
        if (m.e[j].type != DT_DIR) continue;
        if (strcmp(m.e[j].name, "revisions") == 0)
          digest_tree(w, mfd, "revisions", 1);
        else if (strcmp(m.e[j].name, "tags") == 0)
          tags(w, mfd);
      }
      list_free(&m);
      close(mfd);
    } else if (strcmp(nm, "_uploads") == 0) {
      int ufd;
      list_t u;
      if (list_at(w, fd, "_uploads", &ufd, &u) != 0) continue;
      for (size_t j = 0; j < u.len; j++)
        if (u.e[j].type == DT_DIR) upload_tree(w, ufd, u.e[j].name, 1);
      list_free(&u);
      close(ufd);
    }
  }
  list_free(&l);
  close(fd);
  free(rel);
}

/* blobs/<alg>/<xx>: every `<hex>/data` fstatat-ed by name. */
static void fan_task(worker_t *w, char *rel) {
  int fd;
  list_t l;
  if (list_at(w, v2fd, rel, &fd, &l) == 0) {
    char name[600];
    for (size_t i = 0; i < l.len; i++) {
      if (l.e[i].type != DT_DIR) continue;
      snprintf(name, sizeof name, "%s/data", l.e[i].name);
      struct stat st;
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
        w->c.dirs++; /* the digest directory, reached by name */
        w->c.files++;
        w->c.blobs++;
        w->c.blob_bytes += st.st_size;
        continue;
      }
      int hfd;
      list_t h;
      if (list_at(w, fd, l.e[i].name, &hfd, &h) != 0) continue;
      for (size_t j = 0; j < h.len; j++)
        if (h.e[j].type == DT_REG) w->c.files++;
      list_free(&h);
      close(hfd);
    }
    list_free(&l);
    close(fd);
  }
  free(rel);
}

/* The first tasks: repositories/ and every blob fan-out directory (blobs/ and blobs/<alg> listed here). */
static void layout_seed(worker_t *w) {
  q_push(T_NS, strdup("repositories"));
  int bfd;
  list_t algs;
  if (list_at(w, v2fd, "blobs", &bfd, &algs) != 0) return;
  for (size_t i = 0; i < algs.len; i++) {
    if (algs.e[i].type != DT_DIR) continue;
    char *arel = join("blobs", algs.e[i].name);
    list_t fans;
    if (list_at(w, v2fd, arel, NULL, &fans) == 0) {
      for (size_t j = 0; j < fans.len; j++)
        if (fans.e[j].type == DT_DIR) q_push(T_FAN, join(arel, fans.e[j].name));
      list_free(&fans);
    }
    free(arel);
  }
  list_free(&algs);
  close(bfd);
}

/* ------------------------------------------------------------------------------------------------
 * generic mode: every directory listed by path */

static void generic_dir(worker_t *w, char *path) {
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    w->c.errors++;
    free(path);
    return;
  }
  DIR *d = fdopendir(dfd);
  if (!d) {
    w->c.errors++;
    close(dfd);
    free(path);
    return;
  }
  w->c.dirs++;
  int in_blobs = strncmp(path, blobs_root, strlen(blobs_root)) == 0;
  int is_revision = strstr(path, "/_manifests/revisions/") != NULL;
  struct dirent *e;
  char buf[4096];
  while ((e = readdir(d)) != NULL) {
    const char *nm = e->d_name;
    if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
    unsigned char t = e->d_type;
    struct stat st;
    if (t == DT_UNKNOWN) {
      if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        w->c.errors++;
        continue;
      }
      t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (t == DT_DIR) {
      q_push(0, join(path, nm));
      continue;
    }
    if (t != DT_REG) continue;
    w->c.files++;
    if (strcmp(nm, "link") == 0) {
      long n = read_small(w, dfd, nm, buf, sizeof buf);
      if (n >= 0) {
        w->c.links++;
        w->c.link_bytes += n;
        if (is_revision) add_digest(&w->dg, buf, n);
      } else
        w->c.errors++;
    } else if (in_blobs && strcmp(nm, "data") == 0) {
      if (fstatat(dfd, nm, &st, 0) == 0) {
        w->c.blobs++;
        w->c.blob_bytes += st.st_size;
      } else
        w->c.errors++;
    } else if (strcmp(nm, "startedat") == 0) {
      if (read_small(w, dfd, nm, buf, sizeof buf) >= 0) w->c.startedat++;
    }
  }
  closedir(d);
  free(path);
}

/* ------------------------------------------------------------------------------------------------
 * threads */

static char (*all_digests)[65];
static atomic_size_t mf_next;
static size_t mf_count;

static void read_manifest(worker_t *w, const char *hex) {
  char rel[200];
  snprintf(rel, sizeof rel, "%.2s/%s/data", hex, hex);
  int fd = openat(blobs_sha_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    w->c.errors++;
    return;
  }
  static __thread char buf[65536];
  long total = 0;
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) total += r;
  close(fd);
  w->c.manifests++;
  w->c.manifest_bytes += total;
}

static void *walk_worker(void *arg) {
  worker_t *w = arg;
  task_t t;
  while (q_pop(&t)) {
    if (t.kind == T_NS)
      ns_task(w, t.path);
    else if (t.kind == T_FAN)
      fan_task(w, t.path);
    else
      generic_dir(w, t.path);
    q_finished_one();
  }
  return NULL;
}

static void *manifest_worker(void *arg) {
  worker_t *w = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&mf_next, 1);
    if (i >= mf_count) break;
    read_manifest(w, all_digests[i]);
  }
  return NULL;
}

static int cmp_dg(const void *a, const void *b) { return memcmp(a, b, 64); }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s ROOT [THREADS] [layout|generic]\n", argv[0]);
    return 2;
  }
  int threads = argc > 2 ? atoi(argv[2]) : 1;
  if (threads < 1) threads = 1;
  const char *mode = argc > 3 ? argv[3] : "layout";
  int layout = strcmp(mode, "layout") == 0;
  if (!layout && strcmp(mode, "generic") != 0) {
    fprintf(stderr, "unknown mode %s (layout or generic)\n", mode);
    return 2;
  }
  char v2[4096];
  snprintf(v2, sizeof v2, "%s/docker/registry/v2", argv[1]);
  snprintf(blobs_root, sizeof blobs_root, "%s/blobs/", v2);
  v2fd = open(v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (v2fd < 0) {
    fprintf(stderr, "%s: not a directory\n", v2);
    return 2;
  }
  blobs_sha_fd = openat(v2fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  worker_t *ws = calloc((size_t)threads, sizeof *ws);
  pthread_t *ts = calloc((size_t)threads, sizeof *ts);
  if (!ws || !ts) abort();
  for (int i = 0; i < threads; i++)
    if (layout && !(ws[i].dents = malloc(DENTS_BYTES))) abort();
  if (layout)
    layout_seed(&ws[0]);
  else
    q_push(0, strdup(v2));
  for (int i = 0; i < threads; i++) pthread_create(&ts[i], NULL, walk_worker, &ws[i]);
  for (int i = 0; i < threads; i++) pthread_join(ts[i], NULL);

  size_t total = 0;
  for (int i = 0; i < threads; i++) total += ws[i].dg.len;
  all_digests = malloc((total ? total : 1) * sizeof *all_digests);
  if (!all_digests) abort();
  size_t k = 0;
  for (int i = 0; i < threads; i++) {
    if (ws[i].dg.len) memcpy(all_digests + k, ws[i].dg.d, ws[i].dg.len * sizeof *all_digests);
    k += ws[i].dg.len;
  }
  qsort(all_digests, total, sizeof *all_digests, cmp_dg);
  size_t u = 0;
  for (size_t i = 0; i < total; i++)
    if (u == 0 || memcmp(all_digests[u - 1], all_digests[i], 64) != 0) memcpy(all_digests[u++], all_digests[i], 65);
  mf_count = u;
  if (blobs_sha_fd >= 0) {
    for (int i = 0; i < threads; i++) pthread_create(&ts[i], NULL, manifest_worker, &ws[i]);
    for (int i = 0; i < threads; i++) pthread_join(ts[i], NULL);
  }

  counts_t c = {0};
  for (int i = 0; i < threads; i++) add_counts(&c, &ws[i].c);
  printf("files=%ld dirs=%ld links=%ld link_bytes=%ld blobs=%ld blob_bytes=%ld manifests=%ld manifest_bytes=%ld "
         "startedat=%ld errors=%ld threads=%d mode=%s\n",
         c.files, c.dirs, c.links, c.link_bytes, c.blobs, c.blob_bytes, c.manifests, c.manifest_bytes, c.startedat,
         c.errors, threads, mode);
  return c.errors ? 1 : 0;
}
