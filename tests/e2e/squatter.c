/* A static helper of the instance tests, run on the host as another user
 * and inside a hostile container: it tries to take or reach instance
 * names.
 *
 *   squatter listen SECONDS NAME...   binds each NAME (@NAME: an abstract
 *       socket, else a path, its parents made), prints "listen:NAME=yes" or
 *       "=no (ERRNO)", then "squatting", then for SECONDS prints
 *       "connected:NAME" for every connection it accepts
 *   squatter connect PATH             prints "connect:PATH=yes" or "=no (ERRNO)"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static socklen_t address(const char* name, struct sockaddr_un* addr) {
  size_t len = strlen(name);
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (len >= sizeof addr->sun_path) len = sizeof addr->sun_path - 1;
  memcpy(addr->sun_path, name, len);
  if (name[0] == '@')
    addr->sun_path[0] = '\0'; /* abstract: no trailing NUL */
  else
    ++len;
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

static void make_parents(const char* path) {
  char dir[sizeof(((struct sockaddr_un*)0)->sun_path)];
  snprintf(dir, sizeof dir, "%s", path);
  for (char* p = dir + 1; *p; ++p) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(dir, 0700);
    *p = '/';
  }
}

static int cmd_listen(int seconds, int count, char** names) {
  struct pollfd fds[16];
  int n = 0;
  for (int i = 0; i < count && n < 16; ++i) {
    struct sockaddr_un addr;
    socklen_t len = address(names[i], &addr);
    if (names[i][0] != '@') make_parents(names[i]);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr*)&addr, len) != 0 || listen(s, 8) != 0) {
      printf("listen:%s=no (%s)\n", names[i], strerror(errno));
      if (s >= 0) close(s);
      continue;
    }
    printf("listen:%s=yes\n", names[i]);
    fds[n].fd = s;
    fds[n].events = POLLIN;
    names[n++] = names[i];
  }
  printf("squatting\n");
  fflush(stdout);
  time_t end = time(NULL) + seconds;
  while (time(NULL) < end) {
    if (poll(fds, (nfds_t)n, 200) <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      int c = accept(fds[i].fd, NULL, NULL);
      if (c < 0) continue;
      printf("connected:%s\n", names[i]);
      fflush(stdout);
      close(c);
    }
  }
  return 0;
}

static int cmd_connect(const char* path) {
  struct sockaddr_un addr;
  socklen_t len = address(path, &addr);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s >= 0 && connect(s, (struct sockaddr*)&addr, len) == 0)
    printf("connect:%s=yes\n", path);
  else
    printf("connect:%s=no (%s)\n", path, strerror(errno));
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 3 && !strcmp(argv[1], "listen")) return cmd_listen(atoi(argv[2]), argc - 3, argv + 3);
  if (argc > 2 && !strcmp(argv[1], "connect")) return cmd_connect(argv[2]);
  fprintf(stderr, "usage: squatter listen SECONDS NAME... | connect PATH\n");
  return 2;
}
