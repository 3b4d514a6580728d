// too_many_args takes eight ints: on x86-64 the last two (32 and 64) are passed on the stack.
#define ARG(x) int x __attribute__((unused))

__attribute__((noinline)) void too_many_args(ARG(a), ARG(b), ARG(c), ARG(d), ARG(e),
                                             ARG(f), ARG(g), ARG(h))
{
}

int main(void)
{
  too_many_args(0, 1, 2, 4, 8, 16, 32, 64);
  return 0;
}
