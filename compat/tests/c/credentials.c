/* After a credential change no call runs with the old credentials: a root-only file opened
 * before setresuid(nobody) is refused after it. Run as root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char buf[16];
    int fd = open("secret", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "root only", 9) != 9) return 1;
    close(fd);
    for (int i = 0; i < 3; i++) {
        fd = open("secret", O_RDONLY);
        printf("as root: open %s, read %ld\n", fd >= 0 ? "ok" : strerror(errno),
               fd >= 0 ? (long)read(fd, buf, sizeof buf) : -1L);
        close(fd);
    }
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) return 2;
    fd = open("secret", O_RDONLY);
    printf("as nobody: open %s\n", fd >= 0 ? "ok" : strerror(errno));
    fd = open("/dev/null", O_RDONLY);
    printf("as nobody: /dev/null %s, read %ld\n", fd >= 0 ? "ok" : strerror(errno),
           (long)read(fd, buf, sizeof buf));
    return 0;
}
