/* Placement's worst case: N threads that only compute (a few syscalls each). Pinned with
 * strace to one CPU they share it; left alone they run in parallel.
 * usage: spin THREADS ITERATIONS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long iterations;

static void *work(void *arg) {
    volatile unsigned long x = (unsigned long)arg;
    for (long i = 0; i < iterations; i++)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    iterations = argc > 2 ? atol(argv[2]) : 200000000L;
    pthread_t tid[64];
    if (threads < 1 || threads > 64)
        return 2;
    for (int i = 0; i < threads; i++)
        pthread_create(&tid[i], NULL, work, (void *)(long)i);
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    return 0;
}
