// Uprobe target that runs until killed: calls function1 and function2 ten times a second.
// Globals are read through uaddr(); build it without PIE so their addresses are fixed.
#include <unistd.h>

int GLOBAL_A = 0x55555555;
int GLOBAL_B = 0x88888888;
int GLOBAL_C = 0x33333333;
char GLOBAL_D = 8;

struct Foo {
  int a;
  char b[10];
};

__attribute__((noinline)) int function1(int *n, char c)
{
  (void)c;
  return *n;
}

__attribute__((noinline)) struct Foo *function2(struct Foo *foo1, struct Foo *foo2)
{
  (void)foo2;
  return foo1;
}

int main(void)
{
  for (;;) {
    int n = 13;
    function1(&n, 'x');
    struct Foo foo1 = { .a = 123, .b = "hello" };
    struct Foo foo2 = { .a = 456, .b = "world" };
    function2(&foo1, &foo2);
    usleep(100000);
  }
}
