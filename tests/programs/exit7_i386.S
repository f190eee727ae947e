/* A 32-bit (i386) program with no libc: getpid, then exit(7). */
.globl _start
_start:
    mov $20, %eax
    int $0x80
    mov $1, %eax
    mov $7, %ebx
    int $0x80
