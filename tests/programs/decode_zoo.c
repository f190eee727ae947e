/* Every call the ptrace backend decodes, with awkward data: quotes, '>', newlines,
 * non-UTF-8 bytes, octal-looking bytes ("\1" then '2'), backslashes, strings longer than
 * strace's -s. tests/tracing/test_decode_conformance.py traces it with both backends and
 * compares the argument trees call by call. Calls are made through syscall(2) so that
 * each is the syscall it names, whatever glibc prefers.
 *
 * Usage: decode_zoo DIR   (an empty directory; the calls between the two getppid()
 * markers are the ones compared). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* a name with every character strace escapes, in a file name, a -y decoration, a buffer */
static const char AWKWARD[] = "q\"uo>te<\n\tnl\xff\xfe\001" "2\\012 end";
/* longer than strace's default -s 32 */
static const char LONG[] = "0123456789abcdefghijklmnopqrstuvwxyz\">\n\0017tail";

static long sys(long nr, long a, long b, long c, long d, long e, long f)
{
    return syscall(nr, a, b, c, d, e, f);
}
#define S0(n) sys(SYS_##n, 0, 0, 0, 0, 0, 0)
#define S1(n, a) sys(SYS_##n, (long)(a), 0, 0, 0, 0, 0)
#define S2(n, a, b) sys(SYS_##n, (long)(a), (long)(b), 0, 0, 0, 0)
#define S3(n, a, b, c) sys(SYS_##n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define S4(n, a, b, c, d) sys(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define S5(n, a, b, c, d, e) sys(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define S6(n, a, b, c, d, e, f) \
    sys(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static void files(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, AWKWARD);
    int dfd = S3(open, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    int fd = S4(openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    S4(openat, dfd, AWKWARD, O_RDONLY | O_NOFOLLOW, 0);
    S4(openat, AT_FDCWD, "/nonexistent/\"x>y\"", O_RDONLY, 0);
    S3(open, LONG, O_WRONLY | O_APPEND | O_NONBLOCK, 0);
    S2(creat, path, 0600);
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .mode = 0, .resolve = 0};
    S4(openat2, dfd, AWKWARD, &how, sizeof how);
    S3(write, fd, AWKWARD, sizeof AWKWARD - 1);
    S3(write, fd, LONG, sizeof LONG - 1);
    S3(write, fd, "\0012", 2); /* printf '\0012': \1 then the digit 2 */
    S3(write, fd, "", 0);
    S4(pwrite64, fd, "\x80\x81\"\\", 4, 3);
    S3(lseek, fd, 0, SEEK_SET);
    char buf[128];
    S3(read, fd, buf, sizeof buf);
    S4(pread64, fd, buf, 5, 1);
    S3(lseek, fd, -3, SEEK_END);
    S3(read, 12345, buf, 4); /* EBADF */
    int copy = S1(dup, fd);
    S2(dup2, fd, 40);
    S3(dup3, fd, 41, O_CLOEXEC);
    S3(fcntl, fd, F_DUPFD, 50);
    S3(fcntl, fd, F_DUPFD_CLOEXEC, 60);
    S3(fcntl, copy, F_SETFD, FD_CLOEXEC);
    S2(fcntl, copy, F_GETFD);
    S3(fcntl, copy, F_SETFD, 0);
    S2(fcntl, copy, F_GETFD);
    S2(fcntl, fd, F_GETFL);
    S3(fcntl, fd, F_SETFL, O_NONBLOCK | O_APPEND);
    S2(ioctl, copy, FIOCLEX);
    S2(ioctl, copy, FIONCLEX);
    S3(ioctl, copy, FIONREAD, buf);
    off_t offset = 2;
    int out = S4(openat, AT_FDCWD, "/dev/null", O_WRONLY, 0);
    S4(sendfile, out, fd, &offset, 7);
    S4(sendfile, out, fd, NULL, 3);
    S1(close, out);
    S1(close, copy);
    S1(close, 12345); /* EBADF */
    S3(close_range, 60, 60, 0);
    S3(close_range, 50, 50, CLOSE_RANGE_CLOEXEC);
    S3(close_range, 40, 41, 0);
    long map = S6(mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    S2(munmap, map, 4096);
    map = S6(mmap, NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
    map = S4(mremap, map, 4096, 8192, MREMAP_MAYMOVE);
    S2(munmap, map, 8192);
    int shm = S3(shmget, IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    long at = S3(shmat, shm, NULL, SHM_RDONLY);
    S1(shmdt, at);
    S3(shmctl, shm, IPC_RMID, NULL);
    int mq = S4(mq_open, "zoo\"mq", O_RDWR | O_CREAT | O_CLOEXEC, 0600, NULL);
    S1(close, mq);
    S1(mq_unlink, "zoo\"mq");
    S1(brk, NULL);
    /* calls the table decodes from their signature alone: paths, descriptors, numbers */
    char link_path[512];
    snprintf(link_path, sizeof link_path, "%s/link\">", dir);
    S2(symlink, AWKWARD, link_path);
    S3(readlink, link_path, buf, sizeof buf);
    S1(unlink, link_path);
    S1(chdir, dir);
    S1(chdir, "/");
    S2(access, path, R_OK);
    S1(unshare, 0);
    S1(unshare, CLONE_FILES);
    S2(setns, -1, CLONE_NEWPID); /* EBADF: a pid namespace entered, for the model */
    int memfd = S2(memfd_create, AWKWARD, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    S1(close, memfd);
    S2(memfd_create, "x", 0);
    S1(close, dfd);
}

static void descriptors(void)
{
    int p[2];
    S1(pipe, p);
    S2(pipe2, p, O_CLOEXEC | O_NONBLOCK);
    S2(pipe2, p, 0);
    S3(write, p[1], LONG, 33); /* one past -s */
    S3(write, p[1], LONG, 32); /* exactly -s */
    char buf[128];
    S3(read, p[0], buf, 33);
    S3(read, p[0], buf, 32);
    S1(epoll_create, 4);
    S1(epoll_create1, EPOLL_CLOEXEC);
    S1(epoll_create1, 0);
    S1(eventfd, 3);
    S2(eventfd2, 7, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGRTMIN);
    sigaddset(&mask, 40);
    S3(signalfd, -1, &mask, 8);
    S4(signalfd4, -1, &mask, 8, SFD_CLOEXEC | SFD_NONBLOCK);
    sigfillset(&mask);
    sigdelset(&mask, SIGCHLD);
    S4(signalfd4, -1, &mask, 8, 0); /* most bits set: strace prints the complement ~[...] */
    S2(timerfd_create, CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    S2(timerfd_create, CLOCK_BOOTTIME, 0);
    S0(inotify_init);
    S1(inotify_init1, IN_CLOEXEC | IN_NONBLOCK);
    S1(inotify_init1, 0);
}

static void clocks(void)
{
    struct timespec ts = {0, 1};
    S2(clock_gettime, CLOCK_MONOTONIC, &ts);
    S2(clock_getres, CLOCK_BOOTTIME, &ts);
    S2(clock_gettime, 12345, &ts); /* EINVAL */
    ts.tv_nsec = 1;
    S4(clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
    S2(clock_settime, CLOCK_MONOTONIC, &ts); /* EINVAL: that clock cannot be set */
    struct timex tx = {.modes = 0};
    S2(clock_adjtime, CLOCK_REALTIME, &tx);
    timer_t timer;
    S3(timer_create, CLOCK_MONOTONIC, NULL, &timer);
    long old = S1(umask, 022);
    S1(umask, old);
}

static void sockets(const char *dir)
{
    char control[CMSG_SPACE(3 * sizeof(int))];
    int sv[2];
    S4(socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    S4(socketpair, AF_UNIX, SOCK_DGRAM, 0, sv);
    S3(socket, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
    S3(socket, AF_INET6, SOCK_DGRAM, 0);
    int netlink = S3(socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK, .nl_groups = 0x11};
    S3(bind, netlink, &nl, sizeof nl);
    S3(socket, 12345, SOCK_STREAM, 0); /* EAFNOSUPPORT */

    /* a listening unix socket named with awkward bytes, a connection, accept and accept4 */
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s/s\"o>ck\n", dir);
    socklen_t addrlen = offsetof(struct sockaddr_un, sun_path) + strlen(addr.sun_path) + 1;
    int server = S3(socket, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    S3(bind, server, &addr, addrlen);
    S2(listen, server, 8);
    int client = S3(socket, AF_UNIX, SOCK_STREAM, 0);
    S3(connect, client, &addr, addrlen);
    int client2 = S3(socket, AF_UNIX, SOCK_STREAM, 0);
    S3(connect, client2, &addr, addrlen);
    struct sockaddr_un peer;
    socklen_t peerlen = sizeof peer;
    int conn = S3(accept, server, &peer, &peerlen);
    peerlen = sizeof peer;
    S4(accept4, server, &peer, &peerlen, SOCK_CLOEXEC);
    S4(accept4, server, NULL, NULL, SOCK_NONBLOCK); /* EAGAIN: no connection is left */

    /* an abstract name: '@' then bytes with a NUL-less awkward tail */
    struct sockaddr_un abstract = {.sun_family = AF_UNIX};
    memcpy(abstract.sun_path + 1, "abs\"tr>act\xff", 11);
    int abs_fd = S3(socket, AF_UNIX, SOCK_DGRAM, 0);
    S3(bind, abs_fd, &abstract, offsetof(struct sockaddr_un, sun_path) + 12);

    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
    int udp = S3(socket, AF_INET, SOCK_DGRAM, 0);
    S3(connect, udp, &in4, sizeof in4);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
    inet_pton(AF_INET6, "::1", &in6.sin6_addr);
    int udp6 = S3(socket, AF_INET6, SOCK_DGRAM, 0);
    S3(connect, udp6, &in6, sizeof in6);

    /* SCM_RIGHTS: descriptors whose -y text is awkward, and data with awkward bytes */
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, AWKWARD);
    int passed = S4(openat, AT_FDCWD, path, O_RDONLY, 0);
    int fds[3] = {passed, conn, client};
    S4(socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
    struct iovec iov[2] = {{.iov_base = (void *)AWKWARD, .iov_len = sizeof AWKWARD - 1},
                           {.iov_base = (void *)LONG, .iov_len = sizeof LONG - 1}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = control,
                         .msg_controllen = sizeof control};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
    S3(sendmsg, sv[1], &msg, MSG_NOSIGNAL);
    char in_a[16], in_b[128], in_control[CMSG_SPACE(3 * sizeof(int))];
    struct iovec in_iov[2] = {{.iov_base = in_a, .iov_len = sizeof in_a},
                              {.iov_base = in_b, .iov_len = sizeof in_b}};
    struct msghdr in_msg = {.msg_iov = in_iov, .msg_iovlen = 2, .msg_control = in_control,
                            .msg_controllen = sizeof in_control};
    S3(recvmsg, sv[0], &in_msg, MSG_CMSG_CLOEXEC);
    S3(recvmsg, sv[0], &in_msg, MSG_DONTWAIT); /* EAGAIN */

    /* two messages at once */
    struct mmsghdr out_msgs[2];
    memset(out_msgs, 0, sizeof out_msgs);
    struct iovec one = {.iov_base = (void *)"first\"", .iov_len = 6};
    struct iovec two = {.iov_base = (void *)"second>\n", .iov_len = 8};
    out_msgs[0].msg_hdr.msg_iov = &one;
    out_msgs[0].msg_hdr.msg_iovlen = 1;
    out_msgs[1].msg_hdr.msg_iov = &two;
    out_msgs[1].msg_hdr.msg_iovlen = 1;
    int dg[2];
    S4(socketpair, AF_UNIX, SOCK_DGRAM, 0, dg);
    S4(sendmmsg, dg[1], out_msgs, 2, 0);
    struct mmsghdr in_msgs[2];
    char r1[16], r2[16];
    struct iovec ri1 = {.iov_base = r1, .iov_len = sizeof r1};
    struct iovec ri2 = {.iov_base = r2, .iov_len = sizeof r2};
    memset(in_msgs, 0, sizeof in_msgs);
    in_msgs[0].msg_hdr.msg_iov = &ri1;
    in_msgs[0].msg_hdr.msg_iovlen = 1;
    in_msgs[1].msg_hdr.msg_iov = &ri2;
    in_msgs[1].msg_hdr.msg_iovlen = 1;
    S5(recvmmsg, dg[0], in_msgs, 2, MSG_DONTWAIT, NULL);
}

static void processes(const char *self)
{
    /* each child exits at once; the parent waits before going on, so every process's
     * calls come in one order */
    long pid = S0(fork);
    if (pid == 0)
        S1(exit_group, 3);
    S4(wait4, pid, NULL, 0, NULL);
    pid = S0(vfork);
    if (pid == 0)
        S1(exit, 4);
    S4(wait4, -1, NULL, __WALL, NULL);
    pid = S5(clone, CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, 0, NULL, &pid, 0);
    if (pid == 0)
        S1(exit_group, 5);
    S4(wait4, pid, NULL, 0, NULL);
    int parent_tid = 0;
    pid = S5(clone, CLONE_PARENT_SETTID | SIGCHLD, 0, &parent_tid, NULL, 0);
    if (pid == 0)
        S1(exit_group, 6);
    S4(wait4, pid, NULL, 0, NULL);
    int pidfd = -1;
    struct clone_args args = {.flags = CLONE_PIDFD | CLONE_PARENT_SETTID,
                              .pidfd = (uintptr_t)&pidfd,
                              .parent_tid = (uintptr_t)&parent_tid,
                              .exit_signal = SIGCHLD};
    pid = S2(clone3, &args, sizeof args);
    if (pid == 0)
        S1(exit_group, 7);
    S2(pidfd_open, pid, 0);
    S4(wait4, pid, NULL, 0, NULL);
    S4(wait4, -1, NULL, WNOHANG, NULL); /* ECHILD */
    int self_pidfd = S2(pidfd_open, S0(getpid), 0);
    S3(pidfd_getfd, self_pidfd, 0, 0);
    S2(kill, S0(getpid), 0);
    S2(kill, 999999999, SIGTERM); /* ESRCH */
    /* exec with awkward arguments (and past -s) of a program that does not exist */
    char *argv[] = {(char *)AWKWARD, (char *)LONG, "", "\"\\>", NULL};
    char *envp[] = {"A=1", "B=\"2\"", NULL};
    S3(execve, "/nonexistent/zoo\">", argv, envp);
    S5(execveat, AT_FDCWD, "/nonexistent/zoo2", argv, envp, AT_SYMLINK_NOFOLLOW);
    S5(execveat, 12345, "", argv, NULL, AT_EMPTY_PATH);
    (void)self;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    S0(getppid); /* start marker */
    files(argv[1]);
    descriptors();
    clocks();
    sockets(argv[1]);
    processes(argv[0]);
    S0(getppid); /* end marker */
    S1(exit_group, 0);
    return 0;
}
