// func(&foo) with foo = { .m = 2, .n = 3 }.
struct Foo {
  int m;
  int n;
};

__attribute__((noinline)) int func(struct Foo *foo)
{
  return foo->m;
}

int main(void)
{
  struct Foo foo;
  foo.m = 2;
  foo.n = 3;
  return func(&foo) == 2 ? 0 : 1;
}
