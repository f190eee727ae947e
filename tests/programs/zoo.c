/* A little of everything strace can print: threads (clone3), fork, vfork + exec,
 * posix_spawn, exec from a non-main thread (superseded by execve), a child killed by a
 * signal, a child killed inside a syscall, a stopped and continued child, a syscall
 * interrupted by a signal and restarted. Used to generate logs with every option set. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
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

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
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

    /* a stopped child, continued, sleeping through it (restart_syscall) */
    if ((pid = fork()) == 0) {
        sleep_ms(200);
        _exit(7);
    }
    sleep_ms(50);
    kill(pid, SIGSTOP);
    waitpid(pid, &status, WUNTRACED);
    kill(pid, SIGCONT);
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
        sleep_ms(120);
        (void)!write(pipe_fds[1], "x", 1);
        _exit(0);
    }
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, NULL);
    (void)!read(pipe_fds[0], &c, 1);
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
