/* The race O_CLOEXEC exists for: one thread keeps changing descriptors without
 * close-on-exec while the main thread forks and execs a helper that records what it
 * really received, so the kernel says, fork by fork, what crossed.
 *   forkrace HELPER OUT NFORKS [PAUSE_US]
 * Fork i execs `HELPER OUT.i`. The racing thread pauses PAUSE_US microseconds (default
 * 0) between its steps, holding what it opened, so that some forks race a change and
 * others find a descriptor plainly open (or closed). The racing thread cycles through: open and close; dup;
 * dup2 onto fd 20 (kept open, close-on-exec) and back; open then fcntl(F_SETFD,
 * FD_CLOEXEC) (seed 001's window); close_range over 30-31, plain and CLOSE_RANGE_CLOEXEC.
 * Every call is a real system call (glibc wrappers or syscall()), none carries O_CLOEXEC
 * where the race is the point. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static atomic_int stop;
static atomic_int started;
static long pause_us;

static void nap(void)
{
    if (pause_us)
        usleep(pause_us);
}

static void *racer(void *arg)
{
    (void)arg;
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (unsigned i = 0; !atomic_load(&stop); i++) {
        int fd = open("/etc/hostname", O_RDONLY), copy = -1;
        switch (i % 6) {
        case 1:
            copy = dup(fd);
            break;
        case 2:
            dup2(fd, 20); /* onto an open, close-on-exec descriptor: 20 now crosses */
            break;
        case 4:
            dup2(fd, 30);
            dup2(fd, 31);
            break;
        case 5:
            dup2(fd, 30);
            break;
        }
        atomic_store(&started, 1);
        nap();
        switch (i % 6) {
        case 1:
            close(copy);
            break;
        case 2:
            dup3(null_fd, 20, O_CLOEXEC); /* and no longer does */
            break;
        case 3:
            fcntl(fd, F_SETFD, FD_CLOEXEC); /* seed 001's window closes */
            nap();
            break;
        case 4:
            syscall(SYS_close_range, 30, 31, 0);
            break;
        case 5:
            syscall(SYS_close_range, 30, 30, CLOSE_RANGE_CLOEXEC);
            nap();
            close(30);
            break;
        }
        close(fd);
        nap();
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5)
        return 2;
    const char *helper = argv[1], *out = argv[2];
    int forks = atoi(argv[3]);
    pause_us = argc == 5 ? atol(argv[4]) : 0;
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup3(null_fd, 20, O_CLOEXEC);
    pthread_t thread;
    pthread_create(&thread, NULL, racer, NULL);
    while (!atomic_load(&started))
        ;
    char path[4096];
    for (int i = 0; i < forks; i++) {
        snprintf(path, sizeof path, "%s.%d", out, i);
        pid_t pid = fork();
        if (pid == 0) {
            execl(helper, "openfds", path, (char *)NULL);
            _exit(127);
        }
        if (pid < 0 || waitpid(pid, NULL, 0) != pid)
            return 1;
    }
    atomic_store(&stop, 1);
    pthread_join(thread, NULL);
    return 0;
}
