// A process to trace: functions with register, negative and eight arguments, USDT probes with
// register, memory and constant arguments, a semaphore-guarded USDT probe (tracetest_sem.c), a
// function of a shared library (libtracetest.c), threads and a struct passed by pointer.
//
// Commands come from the arguments (`tracetest add 3 usdt 2`: run them, then exit) or, with no
// arguments, one per line on stdin after "ready PID" is printed. Every command prints what it
// did and then "ok". Built at -O0 and -O2 by test/support/targets.ts.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone, used))

// Side effects the optimizer must keep, so that every call really happens.
volatile long tt_sink;

NOINLINE int tt_add(int a, int b) {
  tt_sink += a;
  return a + b;
}

NOINLINE long tt_neg(long x) {
  tt_sink += x;
  return -x - 1;
}

NOINLINE long tt_eight(long a, long b, long c, long d, long e, long f, long g, long h) {
  long r = a + b + c + d + e + f + g + h;
  tt_sink += r;
  return r;
}

NOINLINE int tt_signed(signed char c, short s, int i, long l) {
  tt_sink += c + s + i + l;
  return c;
}

NOINLINE void tt_once(void) { tt_sink++; }

// Passed to the USDT probe: tt_global is changed first (a register at -O2), tt_mem is only read
// (a rip-relative memory operand at -O2).
long tt_global = -1234567890123L;
int tt_mem = -42;

// Every USDT argument kind: registers or stack slots (-O0) of 8, 4, 2 and 1 bytes, signed and
// unsigned, globals in memory and a constant.
NOINLINE void tt_usdt(long a, int b, int i) {
  short s = (short)(-b * 7);
  signed char c = (signed char)(-i);
  unsigned char uc = (unsigned char)(200 + i);
  tt_global -= i;
  STAP_PROBE8(tracetest, args, a, b, s, c, uc, tt_global, -5, tt_mem);
  printf("usdt %ld %d %d %d %u %ld %d %d\n", a, b, (int)s, (int)c, (unsigned)uc, tt_global, -5, tt_mem);
}

// Structs passed by pointer (test/kernel/structs.test.ts): members of every kind, a nested
// struct, arrays, bit-fields and a pointer to another struct.
struct tt_inner {
  int x;
  short y;
};

struct tt_struct {
  int id;
  char name[8];
  unsigned char mac[6];
  int vals[2][3];
  struct tt_inner in;
  struct tt_struct* next;
  unsigned int a : 3, b : 9, c : 20;
  long big;
};

// noipa: at -O2 gcc would otherwise see that only `id` is read, and not store the rest.
__attribute__((noipa, used)) int tt_struct(struct tt_struct* s) {
  tt_sink += s->id;
  return s->id;
}

// tracetest_sem.c (semaphores need their own translation unit) and libtracetest.c.
void tt_sem_probe(int i);
unsigned tt_semaphore_value(void);
extern int tt_semaphore_hits;
int tl_mul(int a, int b);

static long threads_n;

static void* thread_main(void* arg) {
  int t = (int)(long)arg;
  for (long k = 0; k < threads_n; k++) tt_add(t, (int)k);
  return NULL;
}

// Runs one command; returns 0 for "quit", -1 for an unknown one.
static int run(const char* cmd, long x, long y) {
  if (strcmp(cmd, "add") == 0) {
    long total = 0;
    for (long k = 0; k < x; k++) total += tt_add((int)k, (int)-k * 2);
    printf("add %ld %ld\n", x, total);
  } else if (strcmp(cmd, "neg") == 0) {
    printf("neg %ld %ld\n", x, tt_neg(x));
  } else if (strcmp(cmd, "eight") == 0) {
    printf("eight %ld\n", tt_eight(-1, 2, -3, 4, -5, 6, -7, 8));
  } else if (strcmp(cmd, "signed") == 0) {
    printf("signed %d\n", tt_signed(-100, -30000, -2000000000, -9000000000000L));
  } else if (strcmp(cmd, "struct") == 0) {
    struct tt_struct second = {.id = 2, .name = "second", .in = {.x = 8, .y = 9}};
    struct tt_struct first = {
        .id = 1,
        .name = "first",
        .mac = {0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0xfe},
        .vals = {{1, 2, 3}, {4, 5, 6}},
        .in = {.x = -7, .y = 300},
        .next = &second,
        .a = 5,
        .b = 300,
        .c = 1000000,
        .big = -1234567890123L,
    };
    printf("struct %d\n", tt_struct(&first));
  } else if (strcmp(cmd, "once") == 0) {
    tt_once();
    printf("once\n");
  } else if (strcmp(cmd, "usdt") == 0) {
    for (long k = 1; k <= x; k++) tt_usdt(-k * 1000000007L, (int)(k * 3), (int)k);
  } else if (strcmp(cmd, "sem") == 0) {
    for (long k = 0; k < x; k++) tt_sem_probe((int)k);
    printf("sem %u %d\n", tt_semaphore_value(), tt_semaphore_hits);
  } else if (strcmp(cmd, "lib") == 0) {
    long total = 0;
    for (long k = 0; k < x; k++) total += tl_mul((int)k, -3);
    printf("lib %ld %ld\n", x, total);
  } else if (strcmp(cmd, "libc") == 0) {
    for (long k = 0; k < x; k++) tt_sink += getpgrp();
    printf("libc %ld\n", x);
  } else if (strcmp(cmd, "threads") == 0) {
    pthread_t tids[64];
    if (x > 64) x = 64;
    threads_n = y;
    for (long t = 0; t < x; t++) pthread_create(&tids[t], NULL, thread_main, (void*)t);
    for (long t = 0; t < x; t++) pthread_join(tids[t], NULL);
    printf("threads %ld %ld\n", x, y);
  } else if (strcmp(cmd, "sleep") == 0) {
    usleep((useconds_t)(x * 1000));
    printf("slept %ld\n", x);
  } else if (strcmp(cmd, "quit") == 0) {
    return 0;
  } else {
    printf("unknown %s\n", cmd);
    return -1;
  }
  printf("ok\n");
  return 1;
}

// How many numbers each command takes.
static int arity(const char* cmd) {
  if (strcmp(cmd, "threads") == 0) return 2;
  if (strcmp(cmd, "eight") == 0 || strcmp(cmd, "signed") == 0 || strcmp(cmd, "once") == 0 || strcmp(cmd, "struct") == 0 || strcmp(cmd, "quit") == 0) return 0;
  return 1;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1) {
    for (int k = 1; k < argc;) {
      const char* cmd = argv[k++];
      long v[2] = {0, 0};
      for (int j = 0; j < arity(cmd) && k < argc; j++) v[j] = strtol(argv[k++], NULL, 0);
      if (run(cmd, v[0], v[1]) <= 0) return 0;
    }
    return 0;
  }
  printf("ready %d\n", (int)getpid());
  char line[256];
  while (fgets(line, sizeof line, stdin) != NULL) {
    char cmd[32] = "";
    long x = 0, y = 0;
    if (sscanf(line, "%31s %ld %ld", cmd, &x, &y) < 1) continue;
    if (run(cmd, x, y) == 0) break;
  }
  return 0;
}
