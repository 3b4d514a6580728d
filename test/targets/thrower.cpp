// Throws and catches N exceptions (argv[1]): each throw passes libstdc++'s libstdcxx:throw probe.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 1;
  int caught = 0;
  for (int i = 0; i < n; i++) {
    try {
      throw std::runtime_error("tracetest");
    } catch (const std::exception&) {
      caught++;
    }
  }
  std::printf("caught %d\n", caught);
  return 0;
}
