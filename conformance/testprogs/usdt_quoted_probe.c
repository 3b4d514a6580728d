// A USDT probe whose name includes double quotes: provider test, name "probe1" (quotes and
// all), arg0 = 1. Runs until killed; with any argument it exits 0 at once.
#include <sys/sdt.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  (void)argv;
  if (argc > 1)
    return 0;
  int a = 1;
  for (;;) {
    DTRACE_PROBE1(test, "probe1", a);
    usleep(10000);
  }
}
