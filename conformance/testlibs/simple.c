// libsimple.so: a function to probe in a shared object that is not executable (mode 0644).
__attribute__((noinline)) int fun(int a, int b)
{
  return a + b;
}
