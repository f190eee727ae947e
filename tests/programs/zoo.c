/* A little of everything strace can print: threads (clone3), fork, vfork + exec,
 * posix_spawn, exec from a non-main thread (superseded by execve), a child killed by a
 * signal, a child killed inside a syscall, a stopped and continued child, a syscall
 * interrupted by a signal and restarted. Used to generate logs with every option set.
 * Each interruption waits (in /proc) for the call it interrupts: no timing decides it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int pipe_fds[2];

static void *writer_thread(void *arg)
{
    (void)arg;
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    (void)!write(pipe_fds[1], "t", 1);
    close(fd);
    return NULL;
}

/* Set once the leader's pthread_create has returned: exec'ing before that would end the
 * leader inside clone3, whose result strace then never shows (a real race, which would
 * make the trace, and its golden, depend on scheduling). */
static int leader_ready;

static void *exec_thread(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&leader_ready, __ATOMIC_ACQUIRE))
        sched_yield();
    execl("/bin/true", "true", (char *)NULL);
    return NULL;
}

static void on_alarm(int sig) { (void)sig; }

static void exit_7(int sig)
{
    (void)sig;
    _exit(7);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* What a process is blocked in, from /proc: the syscall number; -1 while it runs. The
 * interruptions below wait for it, so that no machine's load moves a signal outside
 * the call it must interrupt. */
static long syscall_of(pid_t pid)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -2;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -2;
    buf[n] = '\0';
    return strncmp(buf, "running", 7) == 0 ? -1 : strtol(buf, NULL, 10);
}

static void wait_until_in(pid_t pid, long a, long b)
{
    long now;
    for (int tries = 0; tries < 60000 && (now = syscall_of(pid)) != a && now != b; tries++)
        sleep_ms(1); /* a minute at most: a /proc that cannot say fails the test, no hang */
}

/* Is SIGALRM still pending for process pid (sent with kill, not yet delivered)? */
static int alarm_pending(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    char *line = strstr(buf, "ShdPnd:");
    return line != NULL && (strtoull(line + 7, NULL, 16) & (1ULL << (SIGALRM - 1))) != 0;
}

int main(void)
{
    char c;
    pid_t pid;
    int status;

    if (pipe(pipe_fds) != 0)
        return 1;

    /* a thread */
    pthread_t t;
    pthread_create(&t, NULL, writer_thread, NULL);
    pthread_join(t, NULL);
    (void)!read(pipe_fds[0], &c, 1);

    /* a child killed by a signal */
    if ((pid = fork()) == 0) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        _exit(0);
    }
    waitpid(pid, &status, 0);

    /* a child stopped inside its sleep and continued: the sleep goes on in
     * restart_syscall (ERESTART_RESTARTBLOCK), where SIGUSR1 then ends it (exit 7) */
    if ((pid = fork()) == 0) {
        signal(SIGUSR1, exit_7);
        sleep_ms(30000);
        _exit(0);
    }
    wait_until_in(pid, SYS_nanosleep, SYS_clock_nanosleep);
    kill(pid, SIGSTOP);
    waitpid(pid, &status, WUNTRACED);
    kill(pid, SIGCONT);
    wait_until_in(pid, SYS_restart_syscall, SYS_restart_syscall);
    kill(pid, SIGUSR1);
    waitpid(pid, &status, 0);

    /* vfork + exec */
    if ((pid = vfork()) == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    waitpid(pid, &status, 0);

    /* posix_spawn (clone3 with CLONE_VFORK in recent glibc) */
    char *argv[] = {"true", NULL};
    if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0)
        waitpid(pid, &status, 0);

    /* exec from a non-main thread: the kernel gives the thread the leader's pid */
    if ((pid = fork()) == 0) {
        pthread_t e;
        pthread_create(&e, NULL, exec_thread, NULL);
        __atomic_store_n(&leader_ready, 1, __ATOMIC_RELEASE);
        for (;;)
            pause();
    }
    waitpid(pid, &status, 0);

    /* a read interrupted by a signal and restarted (SA_RESTART) */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    if ((pid = fork()) == 0) {
        (void)!read(pipe_fds[0], &c, 1);
        _exit(0);
    }
    struct itimerval it = {{0, 0}, {0, 30000}}; /* a timer's SIGALRM too, wherever it lands */
    setitimer(ITIMER_REAL, &it, NULL);
    /* the child blocked in its read, a SIGALRM, and once the child has taken it and is
     * back in the read (restarted), the byte it waits for */
    wait_until_in(pid, SYS_read, SYS_read);
    kill(pid, SIGALRM);
    for (int tries = 0; tries < 60000 && alarm_pending(pid); tries++)
        sleep_ms(1);
    wait_until_in(pid, SYS_read, SYS_read);
    (void)!write(pipe_fds[1], "x", 1);
    waitpid(pid, &status, 0);

    /* a child killed while blocked in a syscall */
    if ((pid = fork()) == 0) {
        (void)!read(pipe_fds[0], &c, 1);
        _exit(0);
    }
    sleep_ms(50);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return 0;
}
