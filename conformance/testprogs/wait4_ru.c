// Forks a child that exits at once, and reaps it with wait4() passing a struct rusage.
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
  struct rusage ru;
  pid_t pid = fork();
  if (pid < 0)
    return 1;
  if (pid == 0)
    _exit(0);
  return wait4(pid, NULL, 0, &ru) == pid ? 0 : 1;
}
