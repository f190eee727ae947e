/* Go's net poller before and after "set CLOEXEC flag on epoll/kqueue descriptor":
 * epoll_create1(EPOLL_CLOEXEC), and on ENOSYS (old kernels) epoll_create + fcntl.
 *   -DFORGET_FCNTL  the fallback forgets fcntl(F_SETFD, FD_CLOEXEC)
 *   -DPLAIN         epoll_create only, as before the change
 * Then it runs a child, as a program with a poller does. */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

static int make_epoll(void)
{
#ifdef PLAIN
    return epoll_create(16);
#else
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd >= 0 || errno != ENOSYS)
        return fd;
    fd = epoll_create(16);
#ifndef FORGET_FCNTL
    if (fd >= 0)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
    return fd;
#endif
}

int main(void)
{
    if (make_epoll() < 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        execlp("true", "true", (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return 0;
}
