/* mkstemp's descriptor has no close-on-exec: it crosses into the child. The temporary
 * name differs on every run; the golden names it $TEMP1. Run by tests/golden/test_runtimes.py. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    char name[] = "/tmp/sysprobe-mkstemp-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0 || write(fd, "x", 1) != 1)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        execlp("true", "true", (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
    unlink(name);
    close(fd);
    return WEXITSTATUS(status);
}
