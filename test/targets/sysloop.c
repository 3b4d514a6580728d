// Known system calls, for examples/syscount.bt and top-syscalls.bt: `sysloop N [MS M]` makes N
// getppid(2) calls, then (given MS) sleeps MS milliseconds and makes M more. Each batch is one
// raw syscall per call (syscall(2), not a cached libc wrapper). Prints nothing.
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void calls(long n) {
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
}

int main(int argc, char **argv) {
  calls(argc > 1 ? atol(argv[1]) : 0);
  if (argc > 3) {
    long ms = atol(argv[2]);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    calls(atol(argv[3]));
  }
  return 0;
}
