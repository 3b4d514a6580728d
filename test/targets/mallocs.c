// A process that mallocs known sizes, for examples/malloc-sizes.bt: 100 x 3000 bytes (the
// [2K, 4K) bucket), 50 x 200000 ([128K, 256K)) and 7 x 777777 ([512K, 1M)), each block kept
// until the end so none of the calls can be optimized away. It prints nothing (stdio would
// malloc its buffer).
#include <stdlib.h>
#include <string.h>

static void *blocks[157];

int main(void) {
  int n = 0;
  for (int i = 0; i < 100; i++) blocks[n++] = malloc(3000);
  for (int i = 0; i < 50; i++) blocks[n++] = malloc(200000);
  for (int i = 0; i < 7; i++) blocks[n++] = malloc(777777);
  int missing = 0;
  for (int i = 0; i < n; i++) {
    if (blocks[i] == NULL) missing++;
    else memset(blocks[i], i, 16);
  }
  for (int i = 0; i < n; i++) free(blocks[i]);
  return missing;
}
