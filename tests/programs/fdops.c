/* One descriptor operation per scenario, then exec of `openfds OUT` (from this process,
 * from a vfork child, or from a thread), so the kernel says which descriptors crossed.
 * fdops SCENARIO OPENFDS OUT */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

static char *openfds, *out;
static int shared_pipe[2];

static int opened(int flags) { return open("/etc/hostname", O_RDONLY | flags); }

static void run_openfds(void) { execl(openfds, "openfds", out, (char *)NULL); _exit(127); }

static void *make_pipe(void *arg) { (void)arg; (void)!pipe(shared_pipe); return NULL; }
static void *exec_from_thread(void *arg) { (void)arg; run_openfds(); return NULL; }

static char clone_stack[64 * 1024] __attribute__((aligned(16)));

/* clone(CLONE_FILES) without CLONE_THREAD: a process of its own sharing the caller's
 * descriptor table, running fn; the caller waits for it. */
static void in_shared_table(int (*fn)(void *), int *p)
{
    pid_t pid = clone(fn, clone_stack + sizeof clone_stack, CLONE_FILES | SIGCHLD, p);
    waitpid(pid, NULL, 0);
}

/* the table is the parent's: its close and opens are the parent's too */
static int close_and_open(void *arg)
{
    close(((int *)arg)[1]);
    opened(0);
    opened(0);
    return 0;
}

/* an open before unshare lands in the parent's table, the closes after it only in the copy */
static int open_unshare_close(void *arg)
{
    opened(0);
    unshare(CLONE_FILES);
    close(((int *)arg)[0]);
    close(((int *)arg)[1]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    const char *s = argv[1];
    openfds = argv[2];
    out = argv[3];
    int p[2], fd, fd2;
    if (!strcmp(s, "pipe")) { (void)!pipe(p); }
    else if (!strcmp(s, "pipe2")) { (void)!pipe2(p, O_CLOEXEC); }
    else if (!strcmp(s, "fcntl")) { (void)!pipe(p); fcntl(p[0], F_SETFD, FD_CLOEXEC); fcntl(p[1], F_SETFD, FD_CLOEXEC); }
    else if (!strcmp(s, "fcntl_clear")) { (void)!pipe2(p, O_CLOEXEC); fcntl(p[0], F_SETFD, 0); }
    else if (!strcmp(s, "getfd")) { fd = opened(0); fcntl(fd, F_SETFD, FD_CLOEXEC); fcntl(fd, F_GETFD); }
    else if (!strcmp(s, "dup")) { fd = opened(O_CLOEXEC); (void)dup(fd); }
    else if (!strcmp(s, "dup2")) { fd = opened(O_CLOEXEC); dup2(fd, 10); }
    else if (!strcmp(s, "dup2_same")) { fd = opened(O_CLOEXEC); dup2(fd, fd); }
    else if (!strcmp(s, "dup2_over")) { fd = opened(0); fd2 = opened(O_CLOEXEC); dup2(fd2, fd); }
    else if (!strcmp(s, "dup3")) { fd = opened(0); dup3(fd, 11, O_CLOEXEC); close(fd); }
    else if (!strcmp(s, "dupfd")) { fd = opened(O_CLOEXEC); fcntl(fd, F_DUPFD, 20); fcntl(fd, F_DUPFD_CLOEXEC, 21); }
    else if (!strcmp(s, "fioclex")) { fd = opened(0); ioctl(fd, FIOCLEX); fd2 = opened(O_CLOEXEC); ioctl(fd2, FIONCLEX); }
    else if (!strcmp(s, "close")) { fd = opened(0); close(fd); }
    else if (!strcmp(s, "close_range")) { opened(0); opened(0); syscall(SYS_close_range, 3, ~0U, 0); }
    else if (!strcmp(s, "close_range_cloexec")) { opened(0); opened(0); syscall(SYS_close_range, 3, ~0U, 4); }
    else if (!strcmp(s, "close_range_part")) { opened(0); opened(0); opened(0); syscall(SYS_close_range, 4, 4, 0); }
    else if (!strcmp(s, "sockets")) {
        socket(AF_INET, SOCK_STREAM, 0);
        socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        socketpair(AF_UNIX, SOCK_STREAM, 0, p);
    }
    else if (!strcmp(s, "anon")) {
        epoll_create(1); epoll_create1(EPOLL_CLOEXEC); eventfd(0, 0); eventfd(0, EFD_CLOEXEC);
        timerfd_create(CLOCK_MONOTONIC, 0); timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
        inotify_init(); inotify_init1(IN_CLOEXEC); memfd_create("m", 0); memfd_create("m", MFD_CLOEXEC);
        sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR1);
        signalfd(-1, &set, 0); signalfd(-1, &set, SFD_CLOEXEC);
    }
    else if (!strcmp(s, "vfork")) {
        (void)!pipe(p);
        pid_t pid = vfork();
        if (pid == 0)
            run_openfds();
        waitpid(pid, NULL, 0);
        return 0;
    }
    else if (!strcmp(s, "fork_then_close")) {
        (void)!pipe(p);
        pid_t pid = fork();
        if (pid == 0) { close(p[1]); run_openfds(); }
        waitpid(pid, NULL, 0);
        return 0;
    }
    else if (!strcmp(s, "thread")) {
        /* a thread makes the pipe (the table is shared), another thread execs */
        pthread_t a, b;
        pthread_create(&a, NULL, make_pipe, NULL);
        pthread_join(a, NULL);
        pthread_create(&b, NULL, exec_from_thread, NULL);
        for (;;)
            pause();
    }
    else if (!strcmp(s, "clone_files")) {
        /* a CLONE_FILES child (not a thread) closes the write end and opens two files:
         * the parent's exec inherits 3 (the read end), 4 and 5 */
        (void)!pipe(p);
        in_shared_table(close_and_open, p);
    }
    else if (!strcmp(s, "unshare")) {
        /* a CLONE_FILES child shares the table until it unshares: the parent's exec
         * inherits the file it opened before (5) and the pipe it closed after (3, 4) */
        (void)!pipe(p);
        in_shared_table(open_unshare_close, p);
    }
    else {
        fprintf(stderr, "unknown scenario %s\n", s);
        return 2;
    }
    run_openfds();
}
