/*
 * floor: the minimum work an offline audit of a Docker Distribution filesystem store must do,
 * written as plainly and as fast as possible, to give the benchmark a floor to compare against.
 *
 *   cc -O2 -pthread -o floor scripts/floor.c
 *   ./floor ROOT THREADS            (ROOT contains docker/registry/v2)
 *
 * Work done (the same as `regaudit scan` must do):
 *   1. list every directory under ROOT/docker/registry/v2 (readdir, d_type; lstat only on DT_UNKNOWN);
 *   2. read every file named `link` fully, and every upload `startedat` file;
 *   3. stat every blob `data` file under blobs/;
 *   4. read fully every manifest blob, i.e. each distinct blob named by a `_manifests/revisions/` link.
 * Phases 1-3 run on THREADS pthreads sharing a LIFO work queue of directories; phase 4 runs on the
 * same threads over the sorted, de-duplicated list of manifest digests.
 *
 * Prints one line of counts (key=value) so the caller can check that the work was done.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  char **items;
  size_t len, cap;
  size_t busy; /* threads currently processing a directory */
  int done;
  pthread_mutex_t mu;
  pthread_cond_t cv;
} queue_t;

static queue_t q = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static atomic_long n_files, n_dirs, n_links, n_link_bytes, n_blobs, n_blob_bytes, n_small, n_errors;
static atomic_long n_manifests, n_manifest_bytes;

/* manifest digests (64 hex chars each) collected from revision links */
static pthread_mutex_t dg_mu = PTHREAD_MUTEX_INITIALIZER;
static char (*digests)[65];
static size_t dg_len, dg_cap;
static char blobs_root[4200];

static void q_push(char *p) {
  pthread_mutex_lock(&q.mu);
  if (q.len == q.cap) {
    q.cap = q.cap ? q.cap * 2 : 1024;
    q.items = realloc(q.items, q.cap * sizeof *q.items);
    if (!q.items) abort();
  }
  q.items[q.len++] = p;
  pthread_cond_signal(&q.cv);
  pthread_mutex_unlock(&q.mu);
}

/* returns NULL when the walk is over */
static char *q_pop(void) {
  pthread_mutex_lock(&q.mu);
  for (;;) {
    if (q.len > 0) {
      char *p = q.items[--q.len];
      q.busy++;
      pthread_mutex_unlock(&q.mu);
      return p;
    }
    if (q.busy == 0 || q.done) {
      q.done = 1;
      pthread_cond_broadcast(&q.cv);
      pthread_mutex_unlock(&q.mu);
      return NULL;
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

static long read_small(int dirfd, const char *name, char *buf, size_t cap) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    n_errors++;
    return -1;
  }
  long total = 0;
  for (;;) {
    ssize_t r = read(fd, buf + total, cap - (size_t)total);
    if (r < 0) {
      if (errno == EINTR) continue;
      n_errors++;
      break;
    }
    if (r == 0) break;
    total += r;
    if ((size_t)total == cap) { /* larger than expected: drain */
      char tmp[4096];
      while ((r = read(fd, tmp, sizeof tmp)) > 0) total += r;
      break;
    }
  }
  close(fd);
  return total;
}

static void add_digest(const char *buf, long n) {
  if (n != 71 || memcmp(buf, "sha256:", 7) != 0) return;
  pthread_mutex_lock(&dg_mu);
  if (dg_len == dg_cap) {
    dg_cap = dg_cap ? dg_cap * 2 : 4096;
    digests = realloc(digests, dg_cap * sizeof *digests);
    if (!digests) abort();
  }
  memcpy(digests[dg_len], buf + 7, 64);
  digests[dg_len][64] = 0;
  dg_len++;
  pthread_mutex_unlock(&dg_mu);
}

static void process_dir(char *path) {
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    n_errors++;
    free(path);
    return;
  }
  DIR *d = fdopendir(dfd);
  if (!d) {
    n_errors++;
    close(dfd);
    free(path);
    return;
  }
  n_dirs++;
  int in_blobs = strncmp(path, blobs_root, strlen(blobs_root)) == 0;
  int is_revision = strstr(path, "/_manifests/revisions/") != NULL;
  size_t plen = strlen(path);
  struct dirent *e;
  char buf[4096];
  while ((e = readdir(d)) != NULL) {
    const char *nm = e->d_name;
    if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
    unsigned char t = e->d_type;
    struct stat st;
    if (t == DT_UNKNOWN) {
      if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        n_errors++;
        continue;
      }
      t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (t == DT_DIR) {
      size_t nl = strlen(nm);
      char *child = malloc(plen + 1 + nl + 1);
      if (!child) abort();
      memcpy(child, path, plen);
      child[plen] = '/';
      memcpy(child + plen + 1, nm, nl + 1);
      q_push(child);
      continue;
    }
    if (t != DT_REG) continue;
    n_files++;
    if (strcmp(nm, "link") == 0) {
      long n = read_small(dfd, nm, buf, sizeof buf);
      if (n >= 0) {
        n_links++;
        n_link_bytes += n;
        if (is_revision) add_digest(buf, n);
      }
    } else if (in_blobs && strcmp(nm, "data") == 0) {
      if (fstatat(dfd, nm, &st, 0) == 0) {
        n_blobs++;
        n_blob_bytes += st.st_size;
      } else
        n_errors++;
    } else if (strcmp(nm, "startedat") == 0) {
      if (read_small(dfd, nm, buf, sizeof buf) >= 0) n_small++;
    }
  }
  closedir(d);
  free(path);
}

static atomic_size_t mf_next;
static size_t mf_count;

static void read_manifest(const char *hex) {
  char p[4096 + 200];
  snprintf(p, sizeof p, "%ssha256/%.2s/%s/data", blobs_root, hex, hex);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    n_errors++;
    return;
  }
  char buf[65536];
  long total = 0;
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) total += r;
  close(fd);
  n_manifests++;
  n_manifest_bytes += total;
}

static void *worker(void *arg) {
  (void)arg;
  char *p;
  while ((p = q_pop()) != NULL) {
    process_dir(p);
    q_finished_one();
  }
  return NULL;
}

static void *manifest_worker(void *arg) {
  (void)arg;
  for (;;) {
    size_t i = atomic_fetch_add(&mf_next, 1);
    if (i >= mf_count) break;
    read_manifest(digests[i]);
  }
  return NULL;
}

static int cmp_dg(const void *a, const void *b) { return memcmp(a, b, 64); }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s ROOT [THREADS]\n", argv[0]);
    return 2;
  }
  int threads = argc > 2 ? atoi(argv[2]) : 1;
  if (threads < 1) threads = 1;
  char v2[4096];
  snprintf(v2, sizeof v2, "%s/docker/registry/v2", argv[1]);
  snprintf(blobs_root, sizeof blobs_root, "%s/blobs/", v2);
  struct stat st;
  if (stat(v2, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "%s: not a directory\n", v2);
    return 2;
  }
  q_push(strdup(v2));
  pthread_t *ts = calloc((size_t)threads, sizeof *ts);
  for (int i = 0; i < threads; i++) pthread_create(&ts[i], NULL, worker, NULL);
  for (int i = 0; i < threads; i++) pthread_join(ts[i], NULL);

  qsort(digests, dg_len, sizeof *digests, cmp_dg);
  size_t u = 0;
  for (size_t i = 0; i < dg_len; i++)
    if (u == 0 || memcmp(digests[u - 1], digests[i], 64) != 0) memcpy(digests[u++], digests[i], 65);
  mf_count = u;
  for (int i = 0; i < threads; i++) pthread_create(&ts[i], NULL, manifest_worker, NULL);
  for (int i = 0; i < threads; i++) pthread_join(ts[i], NULL);

  printf("files=%ld dirs=%ld links=%ld link_bytes=%ld blobs=%ld blob_bytes=%ld manifests=%ld manifest_bytes=%ld "
         "startedat=%ld errors=%ld threads=%d\n",
         (long)n_files, (long)n_dirs, (long)n_links, (long)n_link_bytes, (long)n_blobs, (long)n_blob_bytes,
         (long)n_manifests, (long)n_manifest_bytes, (long)n_small, (long)n_errors, threads);
  return n_errors ? 1 : 0;
}
