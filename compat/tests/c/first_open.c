/* The fd numbers a program gets are the ones it would get without the shim: the first open,
 * opens after the ring exists, after closing the standard fds, and after closing every fd. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    int first = open("/dev/null", O_RDONLY);
    printf("first open: %d\n", first);
    char buf[16];
    for (int i = 0; i < 5; i++) {
        if (read(first, buf, sizeof buf) != 0) return 1;
    }
    int second = open("/dev/null", O_RDONLY);
    int third = open("/etc/hostname", O_RDONLY);
    printf("after calls: %d %d\n", second, third);
    close(first);
    printf("reuse: %d\n", open("/dev/zero", O_RDONLY));
    int out = dup(1);
    dup2(third, 1);
    close(0);
    int zero = open("/dev/null", O_RDONLY);
    dup2(out, 1);
    printf("closed 0, then open: %d\n", zero);
    fflush(stdout);
    for (int fd = 0; fd < 1024; fd++) {
        if (fd != out) close(fd);
    }
    int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
    int c = open("/etc/hostname", O_RDONLY);
    dprintf(out, "after closing all: %d %d %d\n", a, b, c);
    return 0;
}
