// The target of the user-space probe rows of bench/run.mjs: `probe-target MODE N` makes N calls and
// prints the nanoseconds per call it measured itself (CLOCK_MONOTONIC around the whole loop):
//   func   N calls of bench_func(), a plain function (for uprobe / uretprobe);
//   usdt   N hits of the USDT probe bench:tick (no semaphore: always hit);
//   usdt2  N pairs bench:start / bench:done around a call of bench_func() (entry/return timing).
// Built by the bench with gcc -O2; it prints "ns_per_call X" and "calls N".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <time.h>

volatile long bench_sink;

__attribute__((noinline, noclone, used)) long bench_func(long i) {
  bench_sink += i;
  return bench_sink;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s func|usdt|usdt2 N\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  long n = atol(argv[2]);
  double t0 = now_ns();
  if (strcmp(mode, "func") == 0) {
    for (long i = 0; i < n; i++) bench_func(i);
  } else if (strcmp(mode, "usdt") == 0) {
    for (long i = 0; i < n; i++) {
      DTRACE_PROBE1(bench, tick, i);
      bench_sink += i;
    }
  } else if (strcmp(mode, "usdt2") == 0) {
    for (long i = 0; i < n; i++) {
      DTRACE_PROBE1(bench, start, i);
      bench_func(i);
      DTRACE_PROBE1(bench, done, i);
    }
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  double t1 = now_ns();
  printf("ns_per_call %.3f\ncalls %ld\n", (t1 - t0) / (double)n, n);
  return 0;
}
