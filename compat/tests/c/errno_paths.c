/* Every interposed call on its success and error paths, printed as "case result errno": the
 * output must be the same with the shim as without it. Runs in an empty directory. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* siginterrupt is tested too */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs `expr`; prints its result and errno (or whether errno was left alone on success). */
#define T(name, expr)                                                                        \
    do {                                                                                     \
        errno = EDOM;                                                                        \
        long r_ = (long)(expr);                                                              \
        int e_ = errno;                                                                      \
        printf("%-44s %ld %s\n", name, r_,                                                   \
               r_ < 0 ? strerrorname_np(e_) : (e_ == EDOM ? "errno-kept" : "errno-changed")); \
    } while (0)

static char buf[8192];
/* Read through volatile so the compiler cannot see (and refuse) the bad arguments. */
static void *volatile NUL;
static volatile int MINUS1 = -1, TOO_MANY = 1025;
static void on_signal(int sig) { (void)sig; }

static void print_stat(const char *name, const struct stat *st) {
    printf("%-44s mode %o size %lld nlink %lu uid %u rdev %lu\n", name, st->st_mode,
           (long long)st->st_size, (unsigned long)st->st_nlink, st->st_uid,
           (unsigned long)st->st_rdev);
}

static void files(char *bad, char *ro) {
    struct stat st;
    umask(022);
    int fd;
    T("open O_CREAT|O_EXCL", fd = open("f", O_CREAT | O_RDWR | O_EXCL, 0640));
    T("open O_CREAT|O_EXCL again", open("f", O_CREAT | O_RDWR | O_EXCL, 0640));
    T("write", write(fd, "hello world", 11));
    T("pread", pread(fd, buf, 5, 6));
    printf("%-44s %.5s\n", "pread data", buf);
    T("pread negative offset", pread(fd, buf, 5, -1));
    T("pread NULL", pread(fd, NUL, 5, 0));
    T("pread unmapped", pread(fd, bad, 5, 0));
    T("pread into read-only memory", pread(fd, ro, 5, 0));
    T("pread count 0", pread(fd, buf, 0, 0));
    T("pread past end", pread(fd, buf, 10, 100));
    T("lseek", lseek(fd, 0, SEEK_SET));
    T("read", read(fd, buf, 100));
    T("read at end", read(fd, buf, 100));
    T("lseek after reads", lseek(fd, 0, SEEK_CUR));
    T("write unmapped", write(fd, bad, 5));
    T("write -1", write(-1, "x", 1));
    T("write 999", write(999, "x", 1));
    T("read 999", read(999, buf, 1));
    T("pwrite", pwrite(fd, "HELLO", 5, 0));
    T("pwrite negative offset", pwrite(fd, "x", 1, -5));
    T("pread64 after pwrite", pread64(fd, buf, 11, 0));
    printf("%-44s %.11s\n", "pread64 data", buf);
    int rd, wr;
    T("open O_RDONLY", rd = open("f", O_RDONLY));
    T("write on O_RDONLY", write(rd, "x", 1));
    T("ftruncate on O_RDONLY", ftruncate(rd, 0));
    T("open O_WRONLY", wr = open("f", O_WRONLY));
    T("read on O_WRONLY", read(wr, buf, 1));
    T("mkdir", mkdir("d", 0750));
    int dfd;
    T("open dir", dfd = open("d", O_RDONLY | O_DIRECTORY));
    T("read dir", read(dfd, buf, 10));
    T("open dir O_WRONLY", open("d", O_WRONLY));
    T("open file O_DIRECTORY", open("f", O_RDONLY | O_DIRECTORY));
    T("open under a file", open("f/x", O_RDONLY));
    T("open missing", open("nope", O_RDONLY));
    T("open empty path", open("", O_RDONLY));
    T("open NULL", open(NUL, O_RDONLY));
    T("open unmapped path", open(bad, O_RDONLY));
    char name[300];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = 0;
    T("open long name", open(name, O_RDONLY));
    static char longpath[5000];
    for (int i = 0; i < 2400; i++) memcpy(longpath + 2 * i, "./", 2);
    strcpy(longpath + 4800, "f");
    T("open path beyond PATH_MAX", open(longpath, O_RDONLY));
    longpath[4000] = 0;
    strcat(longpath, "f");
    T("open long path within PATH_MAX", open(longpath, O_RDONLY));
    T("symlink", symlink("f", "l"));
    T("open symlink O_NOFOLLOW", open("l", O_RDONLY | O_NOFOLLOW));
    T("open symlink O_PATH|O_NOFOLLOW", open("l", O_PATH | O_NOFOLLOW));
    T("openat in dir", openat(dfd, "inner", O_CREAT | O_WRONLY, 0600));
    T("openat bad dir fd", openat(999, "x", O_RDONLY));
    T("openat file as dir", openat(fd, "x", O_RDONLY));
    T("openat absolute ignores dir", openat(999, "/dev/null", O_RDONLY));
    T("open O_TMPFILE", open(".", O_TMPFILE | O_RDWR, 0600));
    T("open O_CREAT mode under umask", open("m", O_CREAT | O_WRONLY, 0777));
    stat("m", &st);
    printf("%-44s %o\n", "mode of m", st.st_mode & 07777);
    int c;
    T("creat", c = creat("c", 0600));
    T("write to creat fd", write(c, "12345", 5));
    T("creat again", creat("c", 0600));
    T("fstat after creat again", fstat(c, &st));
    printf("%-44s %lld\n", "size after creat again", (long long)st.st_size);
    int ap;
    T("open O_APPEND", ap = open("f", O_WRONLY | O_APPEND));
    T("write O_APPEND", write(ap, "++", 2));
    T("pwrite O_APPEND appends", pwrite(ap, "--", 2, 0));
    T("fstat", fstat(ap, &st));
    printf("%-44s %lld\n", "size after appends", (long long)st.st_size);

    struct iovec iov[2] = {{buf, 3}, {buf + 100, 4}};
    T("lseek for readv", lseek(fd, 0, SEEK_SET));
    T("readv", readv(fd, iov, 2));
    printf("%-44s %.3s %.4s\n", "readv data", buf, buf + 100);
    T("readv count -1", readv(fd, iov, MINUS1));
    T("readv count 0", readv(fd, iov, 0));
    T("readv count 1025", readv(fd, iov, TOO_MANY));
    T("readv NULL iov", readv(fd, NUL, 1));
    struct iovec badiov[1] = {{bad, 4}};
    T("readv unmapped buffer", readv(fd, badiov, 1));
    T("readv unmapped iov", readv(fd, (struct iovec *)bad, 1));
    T("writev", writev(fd, iov, 2));
    T("preadv", preadv(fd, iov, 2, 1));
    T("preadv negative offset", preadv(fd, iov, 2, -1));
    T("pwritev", pwritev(fd, iov, 2, 3));
    T("preadv64", preadv64(fd, iov, 1, 0));

    T("fsync", fsync(fd));
    T("fdatasync", fdatasync(fd));
    T("fsync 999", fsync(999));
    T("ftruncate negative", ftruncate(fd, -1));
    T("ftruncate", ftruncate(fd, 3));
    T("ftruncate64", ftruncate64(fd, 4));
    fstat(fd, &st);
    printf("%-44s %lld\n", "size after ftruncate", (long long)st.st_size);
    T("fallocate len 0", fallocate(fd, 0, 0, 0));
    T("fallocate negative offset", fallocate(fd, 0, -1, 10));
    T("fallocate bad mode", fallocate(fd, 0x4000, 0, 10));
    T("fallocate", fallocate(fd, 0, 0, 8192));
    T("fallocate on O_RDONLY", fallocate(rd, 0, 0, 10));
    T("sync_file_range bad flags", sync_file_range(fd, 0, 0, 0xff));
    T("sync_file_range negative offset", sync_file_range(fd, -1, 10, 0));
    T("sync_file_range", sync_file_range(fd, 0, 100, SYNC_FILE_RANGE_WRITE));

    T("stat", stat("f", &st));
    print_stat("stat fields", &st);
    T("stat missing", stat("nope", &st));
    T("stat under a file", stat("f/x", &st));
    T("stat NULL path", stat(NUL, &st));
    T("stat unmapped buffer", stat("f", (struct stat *)bad));
    T("stat read-only buffer", stat("f", (struct stat *)ro));
    T("lstat symlink", lstat("l", &st));
    print_stat("lstat fields", &st);
    T("stat /dev/null", stat("/dev/null", &st));
    print_stat("stat /dev/null fields", &st);
    T("fstat -1", fstat(-1, &st));
    T("fstat 999", fstat(999, &st));
    T("fstatat bad flags", fstatat(AT_FDCWD, "f", &st, 0x1234));
    T("fstatat in dir", fstatat(dfd, "inner", &st, 0));
    print_stat("fstatat fields", &st);
    T("fstatat AT_EMPTY_PATH", fstatat(fd, "", &st, AT_EMPTY_PATH));
    T("fstatat empty path without flag", fstatat(fd, "", &st, 0));
    struct statx stx;
    T("statx", statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, &stx));
    printf("%-44s mode %o size %llu nlink %u\n", "statx fields", stx.stx_mode,
           (unsigned long long)stx.stx_size, stx.stx_nlink);
    T("statx reserved mask", statx(AT_FDCWD, "f", 0, 0x80000000u, &stx));
    T("statx bad flags", statx(AT_FDCWD, "f", 0x40000000, STATX_BASIC_STATS, &stx));
    T("statx NULL buffer", statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, NUL));
    T("statx missing", statx(AT_FDCWD, "nope", 0, STATX_BASIC_STATS, &stx));

    T("unlink missing", unlink("nope"));
    T("unlink dir", unlink("d"));
    T("rmdir file", rmdir("f"));
    T("rmdir non-empty", rmdir("d"));
    T("unlinkat AT_REMOVEDIR non-empty", unlinkat(AT_FDCWD, "d", AT_REMOVEDIR));
    T("unlinkat bad flags", unlinkat(AT_FDCWD, "m", 0x1));
    T("unlinkat in dir", unlinkat(dfd, "inner", 0));
    T("rmdir now empty", rmdir("d"));
    T("rename missing", rename("nope", "x"));
    T("renameat2 RENAME_NOREPLACE", renameat2(AT_FDCWD, "f", AT_FDCWD, "c", RENAME_NOREPLACE));
    T("renameat2 bad flags", renameat2(AT_FDCWD, "f", AT_FDCWD, "x", 0x100));
    T("mkdir e", mkdir("e", 0700));
    T("rename dir into itself", rename("e", "e/sub"));
    T("rename", rename("c", "c2"));
    T("renameat", renameat(AT_FDCWD, "c2", AT_FDCWD, "c3"));
    T("mkdir existing", mkdir("e", 0700));
    T("mkdir missing parent", mkdir("nope/x", 0700));
    T("mkdirat file as dir", mkdirat(fd, "x", 0700));
    T("symlink existing", symlink("f", "l"));
    T("symlinkat", symlinkat("target-that-does-not-exist", AT_FDCWD, "dangling"));
    T("link", link("f", "h"));
    T("link existing", link("f", "h"));
    T("link missing", link("nope", "h2"));
    T("linkat bad flags", linkat(AT_FDCWD, "f", AT_FDCWD, "h3", 0x1));
    T("stat hard link", stat("h", &st));
    printf("%-44s %lu\n", "nlink after link", (unsigned long)st.st_nlink);

    int ev = eventfd(0, 0);
    T("eventfd short read", read(ev, buf, 4));
    T("eventfd write", write(ev, "\1\0\0\0\0\0\0\0", 8));
    T("eventfd read", read(ev, buf, 8));
    int null = open("/dev/null", O_WRONLY);
    T("write /dev/null", write(null, buf, 100));
    int comm;
    T("open /proc/thread-self/comm", comm = open("/proc/thread-self/comm", O_RDONLY));
    long n = read(comm, buf, sizeof buf);
    printf("%-44s %.*s", "/proc/thread-self/comm", (int)n, buf);
    T("close", close(fd));
    T("close again", close(fd));
    T("close -1", close(-1));
    T("close 999", close(999));
}

static void pipes(void) {
    int p[2];
    T("pipe", pipe(p));
    T("pread on pipe", pread(p[0], buf, 1, 0));
    T("pwrite on pipe", pwrite(p[1], "x", 1, 0));
    T("preadv on pipe", preadv(p[0], &(struct iovec){buf, 1}, 1, 0));
    T("fsync on pipe", fsync(p[0]));
    T("ftruncate on pipe", ftruncate(p[1], 0));
    T("fallocate on pipe", fallocate(p[1], 0, 0, 10));
    T("write pipe", write(p[1], "abc", 3));
    T("read pipe", read(p[0], buf, 10));
    T("fcntl O_NONBLOCK", fcntl(p[0], F_SETFL, O_NONBLOCK));
    T("read empty non-blocking pipe", read(p[0], buf, 10));
    T("readv empty non-blocking pipe", readv(p[0], &(struct iovec){buf, 10}, 1));
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    long total = 0, r;
    while ((r = write(p[1], buf, sizeof buf)) > 0) total += r;
    printf("%-44s %ld %s\n", "fill non-blocking pipe", total, strerrorname_np(errno));
    /* A file fd whose number is replaced by a pipe: positioned calls must now fail. */
    int f = open("g", O_CREAT | O_RDWR, 0600);
    T("pwrite file", pwrite(f, "data", 4, 0));
    T("pread file", pread(f, buf, 4, 0));
    T("dup2 pipe over file fd", dup2(p[0], f));
    T("pread on replaced fd", pread(f, buf, 1, 0));
    signal(SIGPIPE, SIG_IGN);
    close(p[0]);
    close(f);
    T("write to pipe without reader", write(p[1], "x", 1));
    close(p[1]);

    T("mkfifo", mkfifo("fifo", 0600));
    T("open fifo O_WRONLY|O_NONBLOCK, no reader", open("fifo", O_WRONLY | O_NONBLOCK));
    int r1, w1;
    T("open fifo O_RDONLY|O_NONBLOCK", r1 = open("fifo", O_RDONLY | O_NONBLOCK));
    T("open fifo O_WRONLY with a reader", w1 = open("fifo", O_WRONLY));
    T("read fifo empty", read(r1, buf, 10));
    close(r1);
    close(w1);
    T("mkfifo 2", mkfifo("fifo2", 0600));
    pid_t child = fork();
    if (child == 0) {
        usleep(300000);
        int w = open("fifo2", O_WRONLY);
        if (write(w, "hi", 2) != 2) _exit(1);
        _exit(0);
    }
    int r2;
    T("open fifo O_RDONLY waits for a writer", r2 = open("fifo2", O_RDONLY));
    T("read fifo", read(r2, buf, 10));
    waitpid(child, NULL, 0);
    child = fork();
    if (child == 0) {
        usleep(300000);
        int rd = open("fifo2", O_RDONLY);
        usleep(100000);
        if (read(rd, buf, 10) != 2) _exit(1);
        _exit(0);
    }
    int w2;
    T("open fifo O_WRONLY waits for a reader", w2 = open("fifo2", O_WRONLY));
    T("write fifo", write(w2, "yo", 2));
    int status;
    waitpid(child, &status, 0);
    printf("%-44s %d\n", "fifo reader child status", status);
}

static void sockets(char *bad) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&addr, sizeof addr);
    getsockname(l, (struct sockaddr *)&addr, &len);
    int f = open("sockfile", O_CREAT | O_RDWR, 0600);
    T("accept on a file", accept(f, NULL, NULL));
    T("accept not listening", accept(l, NULL, NULL));
    T("listen", listen(l, 8));
    int c;
    T("socket", c = socket(AF_INET, SOCK_STREAM, 0));
    T("connect bad length", connect(c, (struct sockaddr *)&addr, 3));
    T("connect on a file", connect(f, (struct sockaddr *)&addr, sizeof addr));
    T("connect", connect(c, (struct sockaddr *)&addr, sizeof addr));
    T("connect again", connect(c, (struct sockaddr *)&addr, sizeof addr));
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int a;
    T("accept with address", a = accept(l, (struct sockaddr *)&peer, &plen));
    struct sockaddr_in mine;
    socklen_t mlen = sizeof mine;
    getsockname(c, (struct sockaddr *)&mine, &mlen);
    printf("%-44s len %u family %d same port %d zero %d\n", "accepted address", plen,
           peer.sin_family, peer.sin_port == mine.sin_port,
           peer.sin_zero[0] == 0 && peer.sin_zero[7] == 0);
    int c2 = socket(AF_INET, SOCK_STREAM, 0);
    connect(c2, (struct sockaddr *)&addr, sizeof addr);
    T("accept with unmapped length", accept(l, (struct sockaddr *)&peer, (socklen_t *)bad));
    int c3 = socket(AF_INET, SOCK_STREAM, 0);
    connect(c3, (struct sockaddr *)&addr, sizeof addr);
    plen = 6;
    memset(&peer, 0, sizeof peer);
    T("accept4 short address buffer", accept4(l, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC));
    printf("%-44s len %u port %d\n", "short address", plen, peer.sin_port == 0);
    T("accept4 bad flags", accept4(l, NULL, NULL, 0x7));
    T("send", send(c, "abc", 3, 0));
    T("recv", recv(a, buf, 10, 0));
    T("recv MSG_DONTWAIT empty", recv(a, buf, 10, MSG_DONTWAIT));
    T("sendto without address", sendto(c, "x", 1, 0, NULL, 0));
    T("recvfrom without address", recvfrom(a, buf, 10, 0, NULL, NULL));
    struct iovec iov = {"msg", 3};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    T("sendmsg", sendmsg(c, &msg, 0));
    struct iovec riov = {buf, 10};
    struct msghdr rmsg = {.msg_iov = &riov, .msg_iovlen = 1};
    T("recvmsg", recvmsg(a, &rmsg, 0));
    T("send unmapped", send(c, bad, 3, 0));
    T("write socket", write(c, "wr", 2));
    T("read socket", read(a, buf, 10));
    T("shutdown bad how", shutdown(c, 7));
    T("shutdown on a file", shutdown(f, SHUT_RD));
    T("shutdown write", shutdown(c, SHUT_WR));
    T("recv end of stream", recv(a, buf, 10, 0));
    T("send on a file", send(f, "x", 1, 0));
    T("recv on a file", recv(f, buf, 1, 0));
    int refused = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in closed = {.sin_family = AF_INET, .sin_port = htons(1),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    T("connect refused", connect(refused, (struct sockaddr *)&closed, sizeof closed));
    int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    fcntl(l, F_SETFL, O_NONBLOCK);
    T("accept non-blocking listener, none pending", accept(l, NULL, NULL));
    T("recv non-blocking unconnected", recv(nb, buf, 1, 0));
    int sp[2];
    T("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
    T("send unix", send(sp[0], "u", 1, 0));
    T("recv unix", recv(sp[1], buf, 1, 0));
    int ul = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ua = {.sun_family = AF_UNIX, .sun_path = "unix.sock"};
    bind(ul, (struct sockaddr *)&ua, sizeof ua);
    listen(ul, 2);
    int uc = socket(AF_UNIX, SOCK_STREAM, 0);
    T("connect unix", connect(uc, (struct sockaddr *)&ua, sizeof ua));
    struct sockaddr_un got;
    socklen_t glen = sizeof got;
    T("accept unix with address", accept(ul, (struct sockaddr *)&got, &glen));
    printf("%-44s len %u family %d\n", "unix peer address", glen, got.sun_family);
}

static void polls(char *bad) {
    int p[2];
    pipe(p);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    T("poll empty pipe 50 ms", poll(&pf, 1, 50));
    printf("%-44s %d\n", "revents", pf.revents);
    write(p[1], "x", 1);
    T("poll ready pipe", poll(&pf, 1, 1000));
    printf("%-44s %d\n", "revents", pf.revents);
    pf.events = POLLOUT;
    T("poll read end for POLLOUT 20 ms", poll(&pf, 1, 20));
    printf("%-44s %d\n", "revents", pf.revents);
    close(p[1]);
    pf.events = POLLIN;
    T("poll after writer closed", poll(&pf, 1, -1));
    printf("%-44s %d\n", "revents", pf.revents);
    struct pollfd closed = {.fd = 999, .events = POLLIN};
    T("poll closed fd", poll(&closed, 1, 1000));
    printf("%-44s %d\n", "revents", closed.revents);
    struct pollfd neg = {.fd = -1, .events = POLLIN};
    T("poll fd -1 10 ms", poll(&neg, 1, 10));
    T("poll unmapped", poll((struct pollfd *)bad, 1, 10));
    T("poll no fds 10 ms", poll(NUL, 0, 10));
}

static void splices(void) {
    int p[2];
    pipe(p);
    int f = open("s", O_CREAT | O_RDWR | O_TRUNC, 0600);
    write(f, "0123456789", 10);
    loff_t off = 2;
    T("splice file to pipe at offset", splice(f, &off, p[1], NULL, 5, 0));
    printf("%-44s %lld\n", "offset after splice", (long long)off);
    T("splice pipe to file", splice(p[0], NULL, f, NULL, 5, 0));
    T("lseek after splice", lseek(f, 0, SEEK_CUR));
    off = -3;
    T("splice negative offset", splice(f, &off, p[1], NULL, 5, 0));
    T("splice without a pipe", splice(f, NULL, f, NULL, 5, 0));
    T("splice offset on a pipe", splice(p[0], &off, f, NULL, 5, 0));
}

static void signals(void) {
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART}, old;
    T("sigaction install", sigaction(SIGUSR1, &sa, NULL));
    T("sigaction query", sigaction(SIGUSR1, NULL, &old));
    printf("%-44s %d %d %d\n", "queried handler, SA_RESTART, SA_SIGINFO",
           old.sa_handler == on_signal, !!(old.sa_flags & SA_RESTART),
           !!(old.sa_flags & SA_SIGINFO));
    T("sigaction replace", sigaction(SIGUSR1, &sa, &old));
    printf("%-44s %d\n", "old handler", old.sa_handler == on_signal);
    printf("%-44s %d\n", "signal returns SIG_DFL", signal(SIGUSR2, on_signal) == SIG_DFL);
    printf("%-44s %d\n", "signal returns handler", signal(SIGUSR2, SIG_IGN) == on_signal);
    signal(SIGUSR2, on_signal);
    T("siginterrupt", siginterrupt(SIGUSR2, 1));
    sigaction(SIGUSR2, NULL, &old);
    printf("%-44s %d\n", "SA_RESTART after siginterrupt", !!(old.sa_flags & SA_RESTART));
    T("sigaction invalid signal", sigaction(0, &sa, NULL));
    T("sigaction SIGKILL", sigaction(SIGKILL, &sa, NULL));
    T("raise handled signal", raise(SIGUSR1));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    files(bad, ro);
    pipes();
    sockets(bad);
    polls(bad);
    splices();
    signals();
    return 0;
}
