/* posix_spawn with file actions, as a careful program passes a descriptor: the file is
 * opened with O_CLOEXEC, and the spawned child dup2s it onto fd 5 between its fork and
 * its exec (posix_spawn_file_actions_adddup2): passed on purpose. With -DLEAK, a pipe
 * made without close-on-exec crosses as well: a leak.
 *   spawn_dup2 PROGRAM ARG     runs PROGRAM ARG with the file as fd 5 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
#ifdef LEAK
    int p[2];
    if (pipe(p) != 0)
        return 1;
#endif
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fd, 5);
    char *child_argv[] = {argv[1], argv[2], NULL};
    pid_t pid;
    if (fd < 0 || posix_spawn(&pid, argv[1], &actions, NULL, child_argv, environ) != 0)
        return 1;
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
