// USDT probes with arguments of different sizes: test:probe1 (uint32 0xdeadbeef), test:probe2
// (uint32 1), test:probe3 (uint64 max). Runs until killed; with any argument it exits 0 at once.
#include <stdint.h>
#include <sys/sdt.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  (void)argv;
  if (argc > 1)
    return 0;
  uint32_t a = 0xdeadbeef;
  uint32_t b = 1;
  uint64_t c = UINT64_MAX;
  for (;;) {
    DTRACE_PROBE1(test, probe1, a);
    DTRACE_PROBE1(test, probe2, b);
    DTRACE_PROBE1(test, probe3, c);
    usleep(10000);
  }
}
