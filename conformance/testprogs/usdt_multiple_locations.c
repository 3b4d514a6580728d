// Six USDT locations: tracetest:testprobe twice, tracetest:testprobe2 once, tracetest:testprobe3
// three times. Runs until killed; with any argument it exits 0 at once.
#include <sys/sdt.h>
#include <sys/time.h>
#include <unistd.h>

__attribute__((noinline)) static long myclock(void)
{
  struct timeval tv;
  gettimeofday(&tv, NULL);
  DTRACE_PROBE2(tracetest, testprobe, tv.tv_sec, "Hello world");
  DTRACE_PROBE2(tracetest, testprobe, tv.tv_sec, "Hello world2");
  DTRACE_PROBE2(tracetest, testprobe2, tv.tv_sec, "Hello world3");
  DTRACE_PROBE2(tracetest, testprobe3, tv.tv_sec, "Hello world4");
  DTRACE_PROBE2(tracetest, testprobe3, tv.tv_sec, "Hello world5");
  DTRACE_PROBE2(tracetest, testprobe3, tv.tv_sec, "Hello world6");
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
