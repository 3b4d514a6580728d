// USDT target that runs until killed, firing three probes ten times a second:
//   tracetest:testprobe, tracetest:testprobe2, tracetest2:testprobe2 (arg0 = seconds,
//   arg1 = a string). With any argument it exits 0 at once: REQUIRES lines use that to check
//   that the program was built with <sys/sdt.h>.
#include <sys/sdt.h>
#include <sys/time.h>
#include <unistd.h>

static volatile char str1[] = "Hello World1";
static volatile char str2[] = "Hello World2";
static volatile char str3[] = "Hello World3";

__attribute__((noinline)) static long myclock(void)
{
  struct timeval tv;
  gettimeofday(&tv, NULL);
  DTRACE_PROBE2(tracetest, testprobe, tv.tv_sec, str1);
  DTRACE_PROBE2(tracetest, testprobe2, tv.tv_sec, str2);
  DTRACE_PROBE2(tracetest2, testprobe2, tv.tv_sec, str3);
  return tv.tv_sec;
}

int main(int argc, char **argv)
{
  (void)argv;
  if (argc > 1)
    return 0;
  for (;;) {
    myclock();
    usleep(100000);
  }
}
