// Starts two usdt_semaphore_test processes (from ./testprogs, relative to the working
// directory) and stays alive under its own name until killed, so a harness can wait for it.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  (void)argc;
  for (int i = 0; i < 2; i++) {
    pid_t pid = fork();
    if (pid < 0)
      return 1;
    if (pid == 0) {
      // Die with the parent, so killing this program ends both.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      argv[0] = "./testprogs/usdt_semaphore_test";
      execv(argv[0], argv);
      _exit(127);
    }
  }
  while (wait(NULL) > 0)
    ;
  return 0;
}
