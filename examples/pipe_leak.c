/* The fork/exec pitfall in twenty lines: a pipe made without O_CLOEXEC leaks into the
 * program the child executes, while a file opened with O_CLOEXEC does not. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int p[2];
    if (pipe(p) != 0)                       /* both ends will leak */
        return 1;
    int conf = open("/etc/hostname", O_RDONLY | O_CLOEXEC);   /* this one will not */
    pid_t pid = fork();
    if (pid == 0) {
        execlp("true", "true", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    waitpid(pid, NULL, 0);
    close(p[0]);
    if (conf >= 0)
        close(conf);
    puts("done");
    return 0;
}
