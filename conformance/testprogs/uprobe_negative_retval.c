// function1 returns each of -120..100 (221 calls, total -2210, average -10); main returns -100.
__attribute__((noinline)) int function1(int x)
{
  return x;
}

int main(void)
{
  for (int x = -120; x <= 100; x++)
    function1(x);
  return -100;
}
