// Calls libc's fread (size 4, count 1) once.
#include <stdio.h>

int main(void)
{
  int val;
  FILE *f = fopen("/dev/zero", "r");
  if (f == NULL)
    return 1;
  size_t n = fread(&val, sizeof(val), 1, f);
  fclose(f);
  return n == 1 ? 0 : 1;
}
