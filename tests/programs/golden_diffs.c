/* One program, three small regressions a golden must show as one line each:
 *   WRITE            the data moves with read/write instead of sendfile
 *   NO_CMSG_CLOEXEC  the descriptor received over SCM_RIGHTS has no close-on-exec
 *   EXTRA_DUP        a new dup of the received descriptor
 * A child opens argv[1] and passes it over a socketpair; the parent copies it into a pipe.
 * Run by tests/golden/test_golden_diffs.py. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void send_fd(int sock, int fd) {
    char byte = 'x';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof control};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    sendmsg(sock, &msg, 0);
}

static int recv_fd(int sock, int flags) {
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof control};
    if (recvmsg(sock, &msg, flags) != 1)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
    return fd;
}

int main(int argc, char **argv) {
    int sv[2];
    if (argc < 2 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        send_fd(sv[1], open(argv[1], O_RDONLY | O_CLOEXEC));
        _exit(0);
    }
    waitpid(child, NULL, 0);
#ifdef NO_CMSG_CLOEXEC
    int received = recv_fd(sv[0], 0);
#else
    int received = recv_fd(sv[0], MSG_CMSG_CLOEXEC);
#endif
    if (received < 0)
        return 1;
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return 1;
#ifdef EXTRA_DUP
    (void)dup(received);
#endif
#ifdef WRITE
    char buf[64];
    ssize_t n = read(received, buf, sizeof buf);
    return n < 0 || write(out[1], buf, (size_t)n) != n;
#else
    return sendfile(out[1], received, NULL, 64) < 0;
#endif
}
