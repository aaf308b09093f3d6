/* The end-to-end probe: a small static program put into every test rootfs.
 * It reports what it sees from inside the container (pid, hostname, env,
 * writability, open fds, ...) as "key=value" lines the tests assert on, and
 * acts on demand (exit codes, signals, zombies). Static so that the rootfs
 * needs no loader or libc; written to stdout with write(2) so nothing is
 * lost in a buffer when a signal ends it. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static void out(const char* fmt, ...) {
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
  for (size_t done = 0; done < len;) {
    ssize_t w = write(STDOUT_FILENO, buf + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    done += (size_t)w;
  }
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* Reads the first line of a file into buf ("" when unreadable). */
static void read_line(const char* path, char* buf, size_t size) {
  buf[0] = '\0';
  FILE* f = fopen(path, "re");
  if (!f) return;
  if (fgets(buf, (int)size, f)) buf[strcspn(buf, "\n")] = '\0';
  fclose(f);
}

/* "yes", or "no (ERRNO)" when a file cannot be created in dir. */
static const char* writable(const char* dir, char* buf, size_t size) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/.probe-write-test.%d", strcmp(dir, "/") ? dir : "", getpid());
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(buf, size, "no (%s)", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    return buf;
  }
  close(fd);
  unlink(path);
  return "yes";
}

/* The fds open in this process, e.g. "0,1,2", without the one listing them. */
static void open_fds(char* buf, size_t size) {
  buf[0] = '\0';
  DIR* d = opendir("/proc/self/fd");
  if (!d) {
    snprintf(buf, size, "? (%s)", strerror(errno));
    return;
  }
  int fds[1024], n = 0;
  for (struct dirent* e; (e = readdir(d)) && n < 1024;) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    int fd = atoi(e->d_name);
    if (fd != dirfd(d)) fds[n++] = fd;
  }
  closedir(d);
  /* readdir order is not numeric order; a few fds, so a simple sort. */
  for (int i = 1; i < n; ++i)
    for (int j = i; j > 0 && fds[j - 1] > fds[j]; --j) {
      int t = fds[j];
      fds[j] = fds[j - 1];
      fds[j - 1] = t;
    }
  size_t used = 0;
  for (int i = 0; i < n && used < size; ++i)
    used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? "," : "", fds[i]);
}

/* Calls fn(pid, state) for every process visible in /proc; returns the count. */
static int each_process(void (*fn)(int pid, char state, void* ctx), void* ctx) {
  DIR* d = opendir("/proc");
  if (!d) return -1;
  int count = 0;
  for (struct dirent* e; (e = readdir(d));) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    char path[300], stat[512];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    read_line(path, stat, sizeof stat);
    /* The state follows the last ')': comm may itself contain parentheses. */
    char* paren = strrchr(stat, ')');
    if (!paren || paren[1] != ' ') continue;
    ++count;
    if (fn) fn(atoi(e->d_name), paren[2], ctx);
  }
  closedir(d);
  return count;
}

struct pid_list {
  int pids[256];
  int n;
};

static void collect_pid(int pid, char state, void* ctx) {
  (void)state;
  struct pid_list* l = ctx;
  if (l->n < 256) l->pids[l->n++] = pid;
}

static void count_zombie(int pid, char state, void* ctx) {
  (void)pid;
  if (state == 'Z') ++*(int*)ctx;
}

static int cmp_int(const void* a, const void* b) {
  return *(const int*)a - *(const int*)b;
}

static void status_field(const char* name, char* buf, size_t size) {
  buf[0] = '\0';
  FILE* f = fopen("/proc/self/status", "re");
  if (!f) return;
  char line[256];
  size_t len = strlen(name);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, name, len) == 0 && line[len] == ':') {
      char* v = line + len + 1;
      while (*v == ' ' || *v == '\t') ++v;
      v[strcspn(v, "\n")] = '\0';
      snprintf(buf, size, "%s", v);
      break;
    }
  }
  fclose(f);
}

static int cmd_info(void) {
  char host[256] = "", cwd[PATH_MAX] = "", buf[4096], comm[64], nnp[256];
  gethostname(host, sizeof host);
  if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "? (%s)", strerror(errno));
  out("pid=%d\n", getpid());
  out("ppid=%d\n", getppid());
  out("uid=%u\n", getuid());
  out("gid=%u\n", getgid());
  out("euid=%u\n", geteuid());
  out("hostname=%s\n", host);
  out("cwd=%s\n", cwd);
  out("root_writable=%s\n", writable("/", buf, sizeof buf));
  out("tmp_writable=%s\n", writable("/tmp", buf, sizeof buf));
  read_line("/proc/1/comm", comm, sizeof comm);
  out("pid1_comm=%s\n", comm);
  status_field("NoNewPrivs", nnp, sizeof nnp);
  out("no_new_privs=%s\n", nnp);
  open_fds(buf, sizeof buf);
  out("fds=%s\n", buf);

  struct pid_list l = {.n = 0};
  each_process(collect_pid, &l);
  qsort(l.pids, (size_t)l.n, sizeof l.pids[0], cmp_int);
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < l.n && used < sizeof buf; ++i)
    used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%d", i ? "," : "", l.pids[i]);
  out("pids=%s\n", buf);

  static const char* const devs[] = {"null",    "zero", "full", "random",
                                     "urandom", "tty",  "pts",  "shm"};
  used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < sizeof devs / sizeof devs[0]; ++i) {
    char path[64];
    snprintf(path, sizeof path, "/dev/%s", devs[i]);
    if (access(path, F_OK) == 0)
      used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", used ? "," : "", devs[i]);
  }
  out("dev=%s\n", buf);
  return 0;
}

static int cmd_env(void) {
  for (char** e = environ; *e; ++e) out("%s\n", *e);
  return 0;
}

static int cmd_args(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) out("argv[%d]=%s\n", i, argv[i]);
  return 0;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig) {
  got_signal = sig;
}

/* Waits for one of the signals the runtime's init forwards and names it. */
static int cmd_wait_signal(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  sigset_t block, old;
  sigemptyset(&block);
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; ++i) {
    sigaction(sigs[i], &sa, NULL);
    sigaddset(&block, sigs[i]);
  }
  /* Blocked until sigsuspend, so a signal sent right after "ready" is not lost. */
  sigprocmask(SIG_BLOCK, &block, &old);
  out("ready\n");
  while (!got_signal) sigsuspend(&old);
  out("SIG%s\n", sigabbrev_np(got_signal) ? sigabbrev_np(got_signal) : "?");
  return 0;
}

/* Leaves orphans for init: each child forks a grandchild and exits at once,
 * so the grandchild is re-parented to PID 1 and must be reaped there. */
static int cmd_spawn_zombies(int n) {
  for (int i = 0; i < n; ++i) {
    pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
      if (fork() == 0) {
        sleep_ms(50);
        _exit(0);
      }
      _exit(0);
    }
    waitpid(child, NULL, 0);
  }
  int zombies = 0;
  for (int tries = 0; tries < 40; ++tries) { /* up to 2 s for init to reap */
    sleep_ms(50);
    zombies = 0;
    each_process(count_zombie, &zombies);
    if (zombies == 0 && tries >= 2) break;
  }
  out("zombies=%d\n", zombies);
  return 0;
}

/* "no (ERRNO)" for the last failure, in buf. */
static const char* failed(char* buf, size_t size) {
  snprintf(buf, size, "no (%s)", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
  return buf;
}

/* The network interfaces and whether each is up: "lo:up,eth0:down". */
static void interfaces(char* buf, size_t size) {
  buf[0] = '\0';
  struct if_nameindex* ifs = if_nameindex();
  if (!ifs) {
    failed(buf, size);
    return;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  size_t used = 0;
  for (struct if_nameindex* i = ifs; i->if_index && used < size; ++i) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", i->if_name);
    const char* state = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0
                            ? ((ifr.ifr_flags & IFF_UP) ? "up" : "down")
                            : "?";
    used +=
        (size_t)snprintf(buf + used, size - used, "%s%s:%s", used ? "," : "", i->if_name, state);
  }
  if (s >= 0) close(s);
  if_freenameindex(ifs);
}

/* The names in a folder, sorted and comma-separated. */
static void list_dir(const char* path, char* buf, size_t size) {
  buf[0] = '\0';
  struct dirent** names;
  int n = scandir(path, &names, NULL, alphasort);
  if (n < 0) {
    failed(buf, size);
    return;
  }
  size_t used = 0;
  for (int i = 0; i < n; ++i) {
    const char* d = names[i]->d_name;
    if (strcmp(d, ".") && strcmp(d, "..") && used < size)
      used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? "," : "", d);
    free(names[i]);
  }
  free(names);
}

/* Creates or truncates PATH and writes TEXT and a newline into it. */
static const char* write_file(const char* path, const char* text, char* buf, size_t size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return failed(buf, size);
  size_t len = strlen(text);
  int ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
  if (!ok) failed(buf, size);
  if (close(fd) != 0 && ok) {
    ok = 0;
    failed(buf, size);
  }
  return ok ? "yes" : buf;
}

/* The options of the mount at PATH as /proc/self/mountinfo lists them (the
 * last one there: the one in sight), e.g. "ro,nosuid,nodev,relatime". */
static void mount_options(const char* path, char* buf, size_t size) {
  snprintf(buf, size, "not a mount point");
  FILE* f = fopen("/proc/self/mountinfo", "re");
  if (!f) {
    failed(buf, size);
    return;
  }
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    char point[PATH_MAX], opts[1024];
    if (sscanf(line, "%*s %*s %*s %*s %4095s %1023s", point, opts) == 2 && !strcmp(point, path))
      snprintf(buf, size, "%s", opts);
  }
  fclose(f);
}

/* ---- Ways out: what a hostile image would try from inside. ----
 * Every hole found is one line "escape:PID(COMM):WHAT=DETAIL"; the totals
 * follow as "escape_processes=" (the processes attacked: every one that is
 * not a copy of this probe) and "escape=none" or "escape=N hole(s)". */

static int holes;

static void hole(int pid, const char* comm, const char* what, const char* detail) {
  ++holes;
  out("escape:%d(%s):%s=%s\n", pid, comm, what, detail);
}

static int same_file(const struct stat* a, const struct stat* b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether the file open at FD (a link from /proc, opened O_PATH) is inside
 * the container: LINK, its path as the kernel shows it, must name the same
 * file from here, and a folder must lead up to this root by "..". */
static const char* outside(int fd, const char* link) {
  struct stat st, there;
  if (fstat(fd, &st) != 0) return NULL;
  if (link[0] != '/') return NULL; /* pipe:, socket:, anon_inode: */
  if (stat(link, &there) != 0 || !same_file(&st, &there)) return "names no file in here";
  if (!S_ISDIR(st.st_mode)) return NULL;
  struct stat root;
  if (stat("/", &root) != 0) return NULL;
  int cur = dup(fd);
  for (int depth = 0; cur >= 0 && depth < 4096; ++depth) {
    struct stat here, up;
    int parent = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0 || fstat(cur, &here) != 0 || fstat(parent, &up) != 0) {
      if (parent >= 0) close(parent);
      break;
    }
    close(cur);
    cur = parent;
    if (same_file(&here, &up)) {
      close(cur);
      return same_file(&up, &root) ? NULL : "climbs to another root";
    }
  }
  if (cur >= 0) close(cur);
  return NULL;
}

/* Follows /proc/PID/{cwd,root,fd/N}: each must stay in the container.
 * Stdio that is not a folder is the caller's own (a terminal, a pipe). */
static void check_links(int pid, const char* comm) {
  char path[128], link[PATH_MAX], detail[PATH_MAX + 64];
  static const char* const dirs[] = {"cwd", "root"};
  for (int i = 0; i < 2; ++i) {
    snprintf(path, sizeof path, "/proc/%d/%s", pid, dirs[i]);
    ssize_t n = readlink(path, link, sizeof link - 1);
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (n > 0 && fd >= 0) {
      link[n] = '\0';
      const char* why = outside(fd, link);
      snprintf(detail, sizeof detail, "%s (%s)", link, why ? why : "");
      if (why) hole(pid, comm, dirs[i], detail);
    }
    if (fd >= 0) close(fd);
  }
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  DIR* d = opendir(path);
  if (!d) return;
  for (struct dirent* e; (e = readdir(d));) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    char fdpath[300];
    snprintf(fdpath, sizeof fdpath, "/proc/%d/fd/%s", pid, e->d_name);
    ssize_t n = readlink(fdpath, link, sizeof link - 1);
    int fd = open(fdpath, O_PATH | O_CLOEXEC);
    struct stat st;
    if (n > 0 && fd >= 0 && fstat(fd, &st) == 0 &&
        !(atoi(e->d_name) <= 2 && !S_ISDIR(st.st_mode)) && !(pid == getpid() && fd == dirfd(d))) {
      link[n] = '\0';
      const char* why = outside(fd, link);
      snprintf(detail, sizeof detail, "%s (%s)", link, why ? why : "");
      if (why) {
        char what[300];
        snprintf(what, sizeof what, "fd/%s", e->d_name);
        hole(pid, comm, what, detail);
      }
    }
    if (fd >= 0) close(fd);
  }
  closedir(d);
}

/* Whether PID runs this probe's own program (its exe is readable, and the
 * same file): those are the container's own processes, not targets. */
static int is_probe(int pid) {
  char path[64];
  struct stat self, other;
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  return stat("/proc/self/exe", &self) == 0 && stat(path, &other) == 0 && same_file(&self, &other);
}

/* Tries every way into PID's memory, environment and descriptors. */
static void attack(int pid, const char* comm) {
  char path[64], buf[256], detail[64];
  if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
    hole(pid, comm, "ptrace", "PTRACE_SEIZE succeeded");
    if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) == 0) waitpid(pid, NULL, __WALL);
    ptrace(PTRACE_DETACH, pid, 0, 0);
  }
  char byte;
  struct iovec local = {&byte, 1}, remote = {(void*)0x10000, 1};
  /* EFAULT too means the kernel let it look: the address just is not mapped. */
  ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (got >= 0 || (errno != EPERM && errno != ESRCH)) {
    snprintf(detail, sizeof detail, "allowed (%s)",
             got >= 0 ? "read" : (strerrorname_np(errno) ? strerrorname_np(errno) : "?"));
    hole(pid, comm, "process_vm_readv", detail);
  }
  static const char* const files[] = {"mem", "environ", "maps", "auxv"};
  for (int i = 0; i < 4; ++i) {
    snprintf(path, sizeof path, "/proc/%d/%s", pid, files[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n > 0 || i == 0) hole(pid, comm, files[i], "opened");
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd >= 0) {
    for (int target = 0; target < 64; ++target) {
      int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
      if (fd >= 0) {
        snprintf(detail, sizeof detail, "took fd %d", target);
        hole(pid, comm, "pidfd_getfd", detail);
        close(fd);
      } else if (errno == EPERM || errno == ESRCH) {
        break;
      }
    }
    close(pidfd);
  }
}

struct escape_scan {
  int seen[256];
  int n;
  char attacked[4096];
};

static void scan_one(int pid, char state, void* ctx) {
  struct escape_scan* sc = ctx;
  (void)state;
  for (int i = 0; i < sc->n; ++i)
    if (sc->seen[i] == pid) return;
  if (sc->n < 256) sc->seen[sc->n++] = pid;
  char path[64], comm[64];
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  read_line(path, comm, sizeof comm);
  check_links(pid, comm);
  if (pid == getpid() || is_probe(pid)) return;
  attack(pid, comm);
  size_t used = strlen(sc->attacked);
  snprintf(sc->attacked + used, sizeof sc->attacked - used, "%s%d:%s", used ? "," : "", pid, comm);
}

/* One pass over every process, or passes for SECONDS, attacking each new
 * one the moment it shows (a runtime joining with --elements-exec). */
static void cmd_escape(double seconds) {
  struct escape_scan sc = {.n = 0, .attacked = ""};
  holes = 0;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  if (seconds > 0) out("watching\n");
  do {
    each_process(scan_one, &sc);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 <
           seconds);
  out("escape_processes=%s\n", sc.attacked);
  if (holes)
    out("escape=%d hole(s)\n", holes);
  else
    out("escape=none\n");
}

/* keyctl(2) without libkeyutils: the session keyring's user keys. */
static long keyctl_call(int op, unsigned long a, unsigned long b, unsigned long c,
                        unsigned long d) {
  return syscall(SYS_keyctl, op, a, b, c, d);
}

#define PROBE_KEYCTL_READ 11
#define PROBE_KEYCTL_SEARCH 10
#define PROBE_KEY_SPEC_SESSION_KEYRING (-3)

/* Reads all of PATH: "SIZE:FNV1A64", or "no (ERRNO)" at the first failed read. */
static const char* file_sum(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failed(buf, size);
  unsigned long long hash = 14695981039346656037ULL, total = 0;
  unsigned char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failed(buf, size);
      close(fd);
      return buf;
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) hash = (hash ^ chunk[i]) * 1099511628211ULL;
    total += (unsigned long long)n;
  }
  close(fd);
  snprintf(buf, size, "%llu:%016llx", total, hash);
  return buf;
}

/* Several reports and actions in one run, in order, each a word:
 *   args env info net     as the subcommands of those names (net: the
 *                         interfaces, "net=lo:up,...")
 *   write:PATH[=TEXT]     "write:PATH=yes" or "=no (ERRNO)"; TEXT default "probe"
 *   cat:PATH              "cat:PATH=" and the file's first line, or "no (ERRNO)"
 *   sum:PATH              "sum:PATH=" and the size and FNV-1a digest of all
 *                         of the file ("SIZE:HEX"), or "no (ERRNO)"
 *   ls:PATH               "ls:PATH=" and the sorted names in the folder
 *   open-w:PATH           "open-w:PATH=yes" when PATH opens for writing (not
 *                         truncated), or "no (ERRNO)"
 *   mnt:PATH              "mnt:PATH=" and the options of the mount at PATH
 *   exec:PATH             replaces the probe with "PATH info" (a setuid copy)
 *   sleep:SECONDS         "sleeping", then sleeps
 *   exit:N                ends at once with status N
 *   escape                the ways out above, once ("escape=none" when shut)
 *   escape-watch:SECONDS  "watching", then the same for SECONDS, attacking
 *                         each process as it appears
 *   key-add:NAME=VALUE    a user key in the session keyring: "key-add:NAME=yes"
 *   key-read:NAME         "key-read:NAME=" and the key's value, or "no (ERRNO)"
 * Other words are ignored, so the spec's own command words can sit among them. */
static int cmd_do(int argc, char** argv) {
  char buf[8192];
  for (int i = 2; i < argc; ++i) {
    char* w = argv[i];
    if (!strcmp(w, "args")) {
      cmd_args(argc, argv);
    } else if (!strcmp(w, "env")) {
      cmd_env();
    } else if (!strcmp(w, "info")) {
      cmd_info();
    } else if (!strcmp(w, "net")) {
      interfaces(buf, sizeof buf);
      out("net=%s\n", buf);
    } else if (!strncmp(w, "write:", 6)) {
      char path[PATH_MAX];
      const char* eq = strchr(w + 6, '=');
      snprintf(path, sizeof path, "%.*s", eq ? (int)(eq - w - 6) : (int)strlen(w + 6), w + 6);
      out("write:%s=%s\n", path, write_file(path, eq ? eq + 1 : "probe", buf, sizeof buf));
    } else if (!strncmp(w, "cat:", 4)) {
      FILE* f = fopen(w + 4, "re");
      if (!f) {
        out("cat:%s=%s\n", w + 4, failed(buf, sizeof buf));
        continue;
      }
      if (!fgets(buf, sizeof buf, f)) {
        if (ferror(f))
          failed(buf, sizeof buf);
        else
          buf[0] = '\0';
      }
      buf[strcspn(buf, "\n")] = '\0';
      fclose(f);
      out("cat:%s=%s\n", w + 4, buf);
    } else if (!strncmp(w, "sum:", 4)) {
      out("sum:%s=%s\n", w + 4, file_sum(w + 4, buf, sizeof buf));
    } else if (!strncmp(w, "ls:", 3)) {
      list_dir(w + 3, buf, sizeof buf);
      out("ls:%s=%s\n", w + 3, buf);
    } else if (!strncmp(w, "open-w:", 7)) {
      int fd = open(w + 7, O_WRONLY | O_CLOEXEC);
      out("open-w:%s=%s\n", w + 7, fd >= 0 ? "yes" : failed(buf, sizeof buf));
      if (fd >= 0) close(fd);
    } else if (!strncmp(w, "mnt:", 4)) {
      mount_options(w + 4, buf, sizeof buf);
      out("mnt:%s=%s\n", w + 4, buf);
    } else if (!strncmp(w, "exec:", 5)) {
      char* const args[] = {w + 5, "info", NULL};
      execv(w + 5, args);
      out("exec:%s=%s\n", w + 5, failed(buf, sizeof buf));
      return 1;
    } else if (!strncmp(w, "sleep:", 6)) {
      out("sleeping\n");
      sleep_ms(atol(w + 6) * 1000L);
    } else if (!strncmp(w, "exit:", 5)) {
      return atoi(w + 5);
    } else if (!strcmp(w, "escape")) {
      cmd_escape(0);
    } else if (!strncmp(w, "escape-watch:", 13)) {
      cmd_escape(atof(w + 13));
    } else if (!strncmp(w, "key-add:", 8)) {
      char name[256];
      const char* eq = strchr(w + 8, '=');
      const char* value = eq ? eq + 1 : "";
      snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - w - 8) : (int)strlen(w + 8), w + 8);
      long id =
          syscall(SYS_add_key, "user", name, value, strlen(value), PROBE_KEY_SPEC_SESSION_KEYRING);
      out("key-add:%s=%s\n", name, id >= 0 ? "yes" : failed(buf, sizeof buf));
    } else if (!strncmp(w, "key-read:", 9)) {
      long id = keyctl_call(PROBE_KEYCTL_SEARCH, (unsigned long)PROBE_KEY_SPEC_SESSION_KEYRING,
                            (unsigned long)"user", (unsigned long)(w + 9), 0);
      long n = id < 0 ? -1
                      : keyctl_call(PROBE_KEYCTL_READ, (unsigned long)id, (unsigned long)buf,
                                    sizeof buf - 1, 0);
      if (n >= 0) buf[n < (long)sizeof buf - 1 ? n : (long)sizeof buf - 1] = '\0';
      out("key-read:%s=%s\n", w + 9, n >= 0 ? buf : failed(buf, sizeof buf));
    }
  }
  return 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: probe info | env | args [ARG...] | exit N | kill-self SIGNUM\n"
          "       | wait-signal | sleep SECONDS | spawn-zombies N | do WORD...\n"
          "(trailing words after the subcommand's own are ignored, so tests can tag a run)\n");
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const char* cmd = argv[1];
  if (!strcmp(cmd, "info")) return cmd_info();
  if (!strcmp(cmd, "env")) return cmd_env();
  if (!strcmp(cmd, "args")) return cmd_args(argc, argv);
  if (!strcmp(cmd, "exit") && argc > 2) return atoi(argv[2]);
  if (!strcmp(cmd, "kill-self") && argc > 2) {
    int sig = atoi(argv[2]);
    signal(sig, SIG_DFL);
    raise(sig);
    return 1; /* not reached for a fatal signal */
  }
  if (!strcmp(cmd, "wait-signal")) return cmd_wait_signal();
  if (!strcmp(cmd, "sleep") && argc > 2) {
    out("sleeping\n");
    sleep_ms(atol(argv[2]) * 1000L);
    return 0;
  }
  if (!strcmp(cmd, "spawn-zombies") && argc > 2) return cmd_spawn_zombies(atoi(argv[2]));
  if (!strcmp(cmd, "do")) return cmd_do(argc, argv);
  return usage();
}
