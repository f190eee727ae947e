/* Report every open descriptor above 2: what this program inherited across execve.
 * openfds [FILE]: one number per line, to FILE or to stdout. The kernel's answer, for
 * checking sysprobe's leak verdicts against. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int open_fds[1024], n = 0;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return 1;
    struct dirent *entry;
    while ((entry = readdir(dir)) && n < 1024) {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] != '.' && fd > 2 && fd != dirfd(dir))
            open_fds[n++] = fd;
    }
    closedir(dir);
    FILE *out = stdout;
    if (argc > 1 && !(out = fopen(argv[1], "we")))
        return 1;
    for (int i = 0; i < n; i++)
        fprintf(out, "%d\n", open_fds[i]);
    return fclose(out) != 0;
}
