// mountns_wrapper PROG: runs ./PROG (a sibling test program) in a private mount namespace in
// which this program's directory is bind-mounted at /tmp/bpftrace-unshare-mountns-test. The
// path exists only inside that namespace: a tracer must resolve it through /proc/PID/root.
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOUNT_POINT "/tmp/bpftrace-unshare-mountns-test"

static void die(const char *what)
{
  perror(what);
  exit(1);
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: mountns_wrapper PROG\n");
    return 2;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n < 0)
    die("readlink /proc/self/exe");
  self[n] = '\0';
  if (unshare(CLONE_NEWNS) != 0)
    die("unshare(CLONE_NEWNS)");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    die("making / private");
  if (mkdir(MOUNT_POINT, 0770) != 0 && errno != EEXIST)
    die("mkdir " MOUNT_POINT);
  if (mount(dirname(self), MOUNT_POINT, NULL, MS_BIND, NULL) != 0)
    die("bind mount");
  char exe[PATH_MAX];
  snprintf(exe, sizeof(exe), "%s/%s", MOUNT_POINT, argv[1]);
  char *args[] = { exe, NULL };
  execv(exe, args);
  die("execv");
}
