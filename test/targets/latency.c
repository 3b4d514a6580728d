// A function with known latencies, for examples/func-latency.bt: tt_sleep_ms(ms) sleeps ms
// milliseconds. `latency FAST SLOW` calls it FAST times with 3 ms and SLOW times with 20 ms, then
// prints "latency FAST SLOW".
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

volatile long tt_sink;

__attribute__((noinline, noclone, used)) long tt_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
  tt_sink += ms;
  return tt_sink;
}

int main(int argc, char **argv) {
  int fast = argc > 1 ? atoi(argv[1]) : 5;
  int slow = argc > 2 ? atoi(argv[2]) : 3;
  for (int i = 0; i < fast; i++) tt_sleep_ms(3);
  for (int i = 0; i < slow; i++) tt_sleep_ms(20);
  printf("latency %d %d\n", fast, slow);
  return 0;
}
