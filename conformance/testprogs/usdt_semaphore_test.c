// USDT probe tracetest:testprobe guarded by a semaphore. arg1 is the string
// "tracetest_testprobe_semaphore: N\n" with the semaphore's current value N, so a tracer can
// check that it was activated. Runs until killed; with any argument it exits 0 at once.
#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <sys/sdt.h>
#include <sys/time.h>
#include <unistd.h>

__extension__ unsigned short tracetest_testprobe_semaphore
    __attribute__((unused)) __attribute__((section(".probes")))
    __attribute__((visibility("hidden")));

__attribute__((noinline)) static long myclock(void)
{
  char buffer[100];
  struct timeval tv;
  gettimeofday(&tv, NULL);
  snprintf(buffer, sizeof(buffer), "tracetest_testprobe_semaphore: %d\n",
           tracetest_testprobe_semaphore);
  DTRACE_PROBE2(tracetest, testprobe, tv.tv_sec, buffer);
  return tv.tv_sec;
}

int main(int argc, char **argv)
{
  (void)argv;
  if (argc > 1)
    return 0;
  for (;;) {
    myclock();
    usleep(10000);
  }
}
