/* Print every open descriptor above 2, one per line: what the program inherited. */
#include <fcntl.h>
#include <stdio.h>

int main(void)
{
    for (int fd = 3; fd < 65536; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            printf("%d\n", fd);
    return 0;
}
