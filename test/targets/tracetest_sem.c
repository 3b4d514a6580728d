// A USDT probe guarded by its semaphore: the probe only fires while a tracer has raised
// tracetest_testprobe_semaphore (the kernel does it for uprobes with a ref_ctr_offset).
// Semaphores are all-or-nothing per translation unit in <sys/sdt.h>, hence this file.
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

__extension__ unsigned short tracetest_testprobe_semaphore __attribute__((unused)) __attribute__((section(".probes")));

int tt_semaphore_hits;

__attribute__((noinline)) void tt_sem_probe(int i) {
  if (*(volatile unsigned short*)&tracetest_testprobe_semaphore) {
    tt_semaphore_hits++;
    STAP_PROBE1(tracetest, testprobe, i);
  }
}

unsigned tt_semaphore_value(void) { return *(volatile unsigned short*)&tracetest_testprobe_semaphore; }
