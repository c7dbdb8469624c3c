/* After unshare(CLONE_FS) and chdir, a relative path means the new directory. The ring's
 * kernel workers keep the old fs_struct, so the shim sends every later call to libc. */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    mkdir("a", 0700);
    mkdir("b", 0700);
    if (chdir("a") != 0) return 1;
    for (int i = 0; i < 3; i++) {
        int fd = open("before", O_CREAT | O_WRONLY, 0600); /* a worker thread for O_CREAT */
        if (fd < 0 || write(fd, "x", 1) != 1) return 2;
        close(fd);
    }
    if (unshare(CLONE_FS) != 0) return 3;
    if (chdir("../b") != 0) return 4;
    int fd = open("after", O_CREAT | O_WRONLY, 0600);
    close(fd);
    struct stat st;
    printf("a/after %s, b/after %s\n", stat("../a/after", &st) == 0 ? "exists" : "missing",
           stat("after", &st) == 0 ? "exists" : "missing");
    return 0;
}
