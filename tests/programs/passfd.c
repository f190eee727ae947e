/* Go's TestPassFD: a child opens a file and passes the descriptor to its parent over a
 * unix socketpair (SCM_RIGHTS); the parent then runs a program.
 *   -DCMSG_CLOEXEC  the parent receives with MSG_CMSG_CLOEXEC (no leak into the program) */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
        char data = 'x', control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {.iov_base = &data, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                             .msg_controllen = sizeof control};
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
        _exit(sendmsg(sv[1], &msg, 0) == 1 ? 0 : 1);
    }
    char data, control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = &data, .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof control};
#ifdef CMSG_CLOEXEC
    int flags = MSG_CMSG_CLOEXEC;
#else
    int flags = 0;
#endif
    if (recvmsg(sv[0], &msg, flags) != 1)
        return 1;
    waitpid(child, NULL, 0);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("true", "true", (char *)NULL);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
