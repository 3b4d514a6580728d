// Performs the system call named by argv[1], so that tracepoints and probes on it fire:
//   syscall nanosleep [NSECS]      nanosleep for NSECS nanoseconds (float notation such as 1e9
//                                  is accepted; default 100 ns)
//   syscall openat | open          openat(AT_FDCWD, $TMPDIR/..., O_CREAT) (open(2) where it exists)
//   syscall read                   read(2) of 0 bytes from a temporary file
//   syscall execve PATH [ARG...]   execve(PATH, [PATH, ARG...], {}) with an empty environment
//   syscall connect HOST PORT      a TCP connect(2) to HOST:PORT (failure is fine)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
  fprintf(stderr,
          "usage: syscall nanosleep [NSECS] | openat | open | read | "
          "execve PATH [ARG...] | connect HOST PORT\n");
  return 2;
}

static char *temp_path(const char *name)
{
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || *dir == '\0')
    dir = "/tmp";
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p == NULL)
    exit(1);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static int do_nanosleep(int argc, char **argv)
{
  double ns = 100;
  if (argc > 2) {
    char *end;
    errno = 0;
    ns = strtod(argv[2], &end);
    if (errno != 0 || *end != '\0' || end == argv[2] || ns < 0) {
      fprintf(stderr, "syscall: bad duration '%s'\n", argv[2]);
      return 2;
    }
    if (ns > 0 && ns < 1)
      ns = 1;
  }
  struct timespec req;
  req.tv_sec = (time_t)(ns / 1e9);
  req.tv_nsec = (long)(ns - (double)req.tv_sec * 1e9);
  if (syscall(SYS_nanosleep, &req, NULL) != 0) {
    perror("syscall: nanosleep");
    return 1;
  }
  return 0;
}

static int do_open(int use_open)
{
  char *path = temp_path("bpftrace_runtime_test_syscall_gen_open_temp");
  long fd;
#ifdef SYS_open
  if (use_open)
    fd = syscall(SYS_open, path, O_CREAT, 0644);
  else
#else
  (void)use_open;
#endif
    fd = syscall(SYS_openat, AT_FDCWD, path, O_CREAT, 0644);
  if (fd < 0) {
    perror("syscall: open");
    free(path);
    return 1;
  }
  close((int)fd);
  unlink(path);
  free(path);
  return 0;
}

static int do_read(void)
{
  char *path = temp_path("bpftrace_runtime_test_syscall_gen_read_temp");
  int fd = open(path, O_CREAT | O_RDONLY, 0644);
  if (fd < 0) {
    perror("syscall: creating the file to read");
    free(path);
    return 1;
  }
  char buf[16];
  long r = syscall(SYS_read, fd, buf, 0);
  close(fd);
  unlink(path);
  free(path);
  if (r < 0) {
    perror("syscall: read");
    return 1;
  }
  return 0;
}

static int do_execve(int argc, char **argv)
{
  if (argc < 3)
    return usage();
  // argv[2..] becomes the new program's argv; the environment is empty.
  char *env[] = { NULL };
  syscall(SYS_execve, argv[2], &argv[2], env);
  perror("syscall: execve");
  return 1;
}

static int do_connect(int argc, char **argv)
{
  if (argc < 4)
    return usage();
  int port = atoi(argv[3]);
  if (port < 1 || port > 65535) {
    fprintf(stderr, "syscall: bad port '%s'\n", argv[3]);
    return 2;
  }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) {
    perror("syscall: socket");
    return 1;
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = inet_addr(argv[2]);
  connect(s, (struct sockaddr *)&addr, sizeof(addr));
  close(s);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 2)
    return usage();
  const char *what = argv[1];
  if (strcmp(what, "nanosleep") == 0)
    return do_nanosleep(argc, argv);
  if (strcmp(what, "openat") == 0)
    return do_open(0);
  if (strcmp(what, "open") == 0)
    return do_open(1);
  if (strcmp(what, "read") == 0)
    return do_read();
  if (strcmp(what, "execve") == 0)
    return do_execve(argc, argv);
  if (strcmp(what, "connect") == 0)
    return do_connect(argc, argv);
  fprintf(stderr, "syscall: '%s' is not supported\n", what);
  return usage();
}
