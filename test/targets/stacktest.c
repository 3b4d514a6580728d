// A known call chain for ustack, kstack and func tests (test/kernel/stacks.test.ts builds it with
// gcc -O0 -fno-omit-frame-pointer: bpftrace's stacks, and the kernel's, are walked by frame
// pointer): main -> sk_outer -> sk_middle -> sk_inner -> sk_leaf, and sk_leaf makes a getpid
// system call (for kstack in tracepoint:syscalls:sys_enter_getpid).
//
// `stacktest N`: runs the chain N times, prints "done", then waits until its stdin is closed (so
// that tools still find the process, to symbolize its stacks, when they print).
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone, used))

volatile long sk_sink;

NOINLINE long sk_leaf(long x) {
  sk_sink += x;
  sk_sink += syscall(SYS_getpid);
  return x + 1;
}

NOINLINE long sk_inner(long x) {
  long r = sk_leaf(x);
  sk_sink += r;
  return r * 2;
}

NOINLINE long sk_middle(long x) {
  long r = sk_inner(x);
  sk_sink += r;
  return r + 3;
}

NOINLINE long sk_outer(long x) {
  long r = sk_middle(x);
  sk_sink += r;
  return r - 1;
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 1;
  long total = 0;
  for (long i = 0; i < n; i++) total += sk_outer(i);
  printf("done %ld\n", total);
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  return 0;
}
