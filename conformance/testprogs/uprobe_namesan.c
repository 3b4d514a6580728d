// A function whose name holds a character that is not valid in a BPF map or program name.
__attribute__((noinline)) int fn$(void)
{
  return 0;
}

int main(void)
{
  return fn$();
}
