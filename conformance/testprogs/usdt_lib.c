// Calls myclock() from ../testlibs/libusdt_tp.so in a loop, so the library's USDT probes fire
// (the program itself has none). Runs until killed; with any argument it exits 0 at once.
#include <unistd.h>

#include "usdt_tp.h"

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
