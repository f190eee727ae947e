/* A real leak through a descriptor whose path is awkward: open argv[1] with O_CLOEXEC
 * (no leak), dup2 it to 4 (dup2 never copies close-on-exec), fork, and the child execs
 * true: fd 4 leaks into it (the child prepared nothing: not a deliberate pass).
 * The ptrace backend once printed the dup2 line's -y decorations unescaped; a '"' in the
 * path made the parser drop the line, and the leak of fd 4 was missed. */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || dup2(fd, 4) != 4)
        return 1;
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0) {
        execlp("true", "true", (char *)NULL);
        _exit(127);
    }
    int status;
    return waitpid(child, &status, 0) == child && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
