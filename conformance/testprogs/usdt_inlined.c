// One USDT probe, tracetest:testprobe, inlined at two call sites, so it has two locations.
// Every second it fires with arg1 = 999, then with arg1 = 100 (read from the stack).
// Runs until killed; with any argument it exits 0 at once.
#include <sys/sdt.h>
#include <sys/time.h>
#include <unistd.h>

__attribute__((always_inline)) static inline void myclock(int value)
{
  volatile int on_stack = value;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  DTRACE_PROBE2(tracetest, testprobe, tv.tv_sec, on_stack);
}

__attribute__((noinline)) static void mywrapper(void)
{
  myclock(100);
}

int main(int argc, char **argv)
{
  (void)argv;
  if (argc > 1)
    return 0;
  for (;;) {
    myclock(999);
    mywrapper();
    sleep(1);
  }
}
