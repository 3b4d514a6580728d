// A shared library for tracetest: a function (uprobe) and a USDT probe in a library.
#include <sys/sdt.h>

volatile long tl_sink;

__attribute__((noinline)) int tl_mul(int a, int b) {
  STAP_PROBE2(tracetestlib, mul, a, b);
  tl_sink += a;
  return a * b;
}
