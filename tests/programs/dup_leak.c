/* A real leak through a descriptor whose path is awkward: open argv[1] with O_CLOEXEC
 * (no leak), dup2 it to 4 (dup2 never copies close-on-exec: fd 4 leaks), exec true.
 * The ptrace backend once printed the dup2 line's -y decorations unescaped; a '"' in the
 * path made the parser drop the line, and the leak of fd 4 was missed. */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || dup2(fd, 4) != 4)
        return 1;
    execlp("true", "true", (char *)NULL);
    return 127;
}
