/* Seed 001's race: one thread makes its poller as Go's net package did — epoll_create1
 * (EPOLL_CLOEXEC), and on ENOSYS epoll_create then fcntl(F_SETFD, FD_CLOEXEC) — while
 * the main thread forks. A child forked between epoll_create and fcntl holds the epoll
 * descriptor without close-on-exec, whether or not it execs. Here the fork happens in
 * that window every time: the thread waits for it before calling fcntl. The child
 * only exits (no exec): the window is the finding, not a leak.
 *   epoll_race    (sysprobe check --inject epoll_create1:error=ENOSYS makes the fallback run) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

static int made[2], forked[2];

static void *poller(void *arg)
{
    (void)arg;
    char byte = 'x';
    int fd = epoll_create1(EPOLL_CLOEXEC);
    int fallback = fd < 0 && errno == ENOSYS;
    if (fallback)
        fd = epoll_create(16);
    (void)!write(made[1], &byte, 1);  /* the main thread forks now... */
    (void)!read(forked[0], &byte, 1); /* ...and this thread goes on once it has */
    if (fallback)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    return NULL;
}

int main(void)
{
    char byte;
    if (pipe2(made, O_CLOEXEC) || pipe2(forked, O_CLOEXEC))
        return 1;
    pthread_t thread;
    pthread_create(&thread, NULL, poller, NULL);
    (void)!read(made[0], &byte, 1);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    (void)!write(forked[1], &byte, 1);
    pthread_join(thread, NULL);
    return 0;
}
