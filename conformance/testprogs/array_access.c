// test_struct(&a, &b) with a.x = {1,2,3,4} and b.y = {{5,6},{7,8}}.
struct A {
  int x[4];
};

struct B {
  int y[2][2];
};

__attribute__((noinline)) void test_struct(struct A *a, struct B *b)
{
  (void)a;
  (void)b;
}

int main(void)
{
  struct A a = { { 1, 2, 3, 4 } };
  struct B b = { { { 5, 6 }, { 7, 8 } } };
  test_struct(&a, &b);
  return 0;
}
