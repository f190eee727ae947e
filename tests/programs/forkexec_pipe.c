/* The fork/exec article's program: a pipe is made, a child runs `sleep`, the parent
 * closes its write end and reads. Without close-on-exec the child's copy of the write
 * end keeps the read blocked until sleep exits. Fixes, chosen at compile time:
 *   -DFIX_PIPE2  pipe2(O_CLOEXEC)
 *   -DFIX_FCNTL  fcntl(F_SETFD, FD_CLOEXEC) on both ends
 *   -DFIX_SPAWN  posix_spawn closing every descriptor above 2 (closefrom) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
    int p[2];
#ifdef FIX_PIPE2
    if (pipe2(p, O_CLOEXEC) != 0)
        return 1;
#else
    if (pipe(p) != 0)
        return 1;
#endif
#ifdef FIX_FCNTL
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
#endif
    char *argv[] = {"sleep", "0.05", NULL};
    pid_t pid;
#ifdef FIX_SPAWN
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (posix_spawnp(&pid, "sleep", &actions, NULL, argv, environ) != 0)
        return 1;
#else
    if ((pid = fork()) == 0) {
        execvp("sleep", argv);
        _exit(127);
    }
#endif
    close(p[1]);
    char c;
    ssize_t n = read(p[0], &c, 1); /* returns 0 at once, or when sleep exits if it leaked */
    printf("%zd bytes read\n", n);
    waitpid(pid, NULL, 0);
    return 0;
}
