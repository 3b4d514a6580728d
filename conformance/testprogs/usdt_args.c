// USDT argument operands of every kind and width, each probe with one argument derived from
// 0xf7f6f5f4f3f2f1f0 and fired once, in this order: u64, 64, u32, 32, u16, 16, u8, 8.
//   usdt_args:const_*   constants          ($imm)
//   usdt_args:reg_*     registers          (%rax, %eax, %ax, %al)
//   usdt_args:addr_*    memory at base+displacement
//   usdt_args:index_*   memory at base+displacement+index*scale
// Built with -O1 (operands as above need optimisation). With any argument it exits 0 at once.
#include <stddef.h>
#include <stdint.h>
#include <sys/sdt.h>

#define VALUE 0xf7f6f5f4f3f2f1f0ULL

typedef union {
  int8_t i_8;
  uint8_t i_u8;
  int16_t i_16;
  uint16_t i_u16;
  int32_t i_32;
  uint32_t i_u32;
  int64_t i_64;
  uint64_t i_u64;
} any_t;

#define CONST(sign, size) \
  DTRACE_PROBE1(usdt_args, const_##sign##size, (sign##int##size##_t)VALUE)

#define REG(reg, sign, size)                                                  \
  do {                                                                        \
    register sign##int##size##_t r_##sign##size asm(#reg) =                   \
        (sign##int##size##_t)VALUE;                                           \
    DTRACE_PROBE1(usdt_args, reg_##sign##size, r_##sign##size);               \
  } while (0)

#define ADDR(sign, size)                                                      \
  do {                                                                        \
    slots[1].i_##sign##size = (sign##int##size##_t)VALUE;                     \
    DTRACE_PROBE1(usdt_args, addr_##sign##size, slots[1].i_##sign##size);     \
  } while (0)

#define INDEX(sign, size) \
  DTRACE_PROBE1(usdt_args, index_##sign##size, slots[i].i_##sign##size)

int main(int argc, char **argv)
{
  (void)argv;
  if (argc > 1)
    return 0;

  volatile any_t slots[10];
  for (volatile size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
    slots[i].i_u64 = VALUE;

  CONST(u, 64);
  CONST(, 64);
  CONST(u, 32);
  CONST(, 32);
  CONST(u, 16);
  CONST(, 16);
  CONST(u, 8);
  CONST(, 8);

  REG(rax, u, 64);
  REG(rax, , 64);
  REG(eax, u, 32);
  REG(eax, , 32);
  REG(ax, u, 16);
  REG(ax, , 16);
  REG(al, u, 8);
  REG(al, , 8);

  ADDR(u, 64);
  ADDR(, 64);
  ADDR(u, 32);
  ADDR(, 32);
  ADDR(u, 16);
  ADDR(, 16);
  ADDR(u, 8);
  ADDR(, 8);

  for (volatile int i = 7; i <= 7; i++) {
    INDEX(u, 64);
    INDEX(, 64);
    INDEX(u, 32);
    INDEX(, 32);
    INDEX(u, 16);
    INDEX(, 16);
    INDEX(u, 8);
    INDEX(, 8);
  }
  return 0;
}
