/* Threads, thread exit, fork, vfork and signal handlers around calls through the shim.
 * Prints what each part saw; the output must be the same with the shim as without it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int shared_fd, exit_pipe[2], handler_pipe[2];
static pthread_key_t key;

/* Runs at thread exit, after the thread's thread-local storage is torn down. */
static void at_exit(void *value) {
    char c = (char)(long)value;
    if (write(exit_pipe[1], &c, 1) != 1) abort();
}

static void *worker(void *arg) {
    long id = (long)arg;
    char name[32], line[64], back[64];
    snprintf(name, sizeof name, "t%ld", id);
    int fd = open(name, O_CREAT | O_RDWR | O_TRUNC, 0600);
    for (int i = 0; i < 500; i++) {
        int n = snprintf(line, sizeof line, "thread %ld line %03d\n", id, i);
        if (write(fd, line, n) != n) abort();
    }
    long total = 0, r;
    lseek(fd, 0, SEEK_SET);
    while ((r = read(fd, back, sizeof back)) > 0) total += r;
    close(fd);
    /* Records appended by two threads through one shared offset: none may be lost. */
    for (int i = 0; i < 500; i++) {
        if (write(shared_fd, id % 2 ? "AAAAAAAA" : "BBBBBBBB", 8) != 8) abort();
    }
    pthread_setspecific(key, (void *)('a' + id));
    return (void *)total;
}

static void on_alarm(int sig) {
    (void)sig;
    /* A call from inside a handler, while the main thread waits in a read. */
    if (write(handler_pipe[1], "h", 1) != 1) abort();
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    pipe(exit_pipe);
    pipe(handler_pipe);
    pthread_key_create(&key, at_exit);
    shared_fd = open("shared", O_CREAT | O_RDWR | O_TRUNC, 0600);
    pthread_t threads[4];
    for (long i = 0; i < 4; i++) pthread_create(&threads[i], NULL, worker, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *total;
        pthread_join(threads[i], &total);
        printf("thread %d read back %ld bytes\n", i, (long)total);
    }
    struct stat st;
    fstat(shared_fd, &st);
    printf("shared file: %lld bytes\n", (long long)st.st_size);
    char seen[8] = {0};
    for (int i = 0; i < 4; i++) {
        char c;
        if (read(exit_pipe[0], &c, 1) != 1) abort();
        seen[c - 'a'] = c;
    }
    printf("thread-exit writes: %.4s\n", seen);

    int p[2];
    pipe(p);
    pid_t pid = vfork();
    if (pid == 0) {
        /* The vfork child shares the parent's memory until it execs. */
        close(p[0]);
        dup2(p[1], 1);
        execlp("echo", "echo", "from the vfork child", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[128];
    long n = read(p[0], buf, sizeof buf);
    printf("vfork child said: %.*s", (int)n, buf);
    waitpid(pid, NULL, 0);
    close(p[0]);

    pipe(p);
    pid = fork();
    if (pid == 0) {
        /* The fork child's calls use a ring of its own. */
        for (int i = 0; i < 100; i++) {
            if (write(p[1], "0123456789", 10) != 10) _exit(1);
        }
        _exit(0);
    }
    close(p[1]);
    long total = 0;
    while ((n = read(p[0], buf, sizeof buf)) > 0) total += n;
    int status;
    waitpid(pid, &status, 0);
    printf("fork child wrote %ld bytes, status %d\n", total, status);

    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    pipe(p);
    pid = fork();
    if (pid == 0) {
        usleep(1500000);
        if (write(p[1], "late", 4) != 4) _exit(1);
        _exit(0);
    }
    alarm(1);
    n = read(p[0], buf, sizeof buf);
    char h = 0;
    if (read(handler_pipe[0], &h, 1) != 1) abort();
    printf("read after the handler: %ld %.4s, the handler wrote %c\n", n, buf, h);
    waitpid(pid, NULL, 0);
    return 0;
}
