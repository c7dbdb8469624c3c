/* A signal interrupting a blocking call through the shim ends as the syscall would: a handler
 * installed without SA_RESTART makes the call fail with EINTR, one with SA_RESTART resumes it.
 * Usage: eintr read|poll|accept|recv  norestart|restart */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void on_alarm(int sig) { (void)sig; handled++; }

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *call = argv[1];
    int restart = strcmp(argv[2], "restart") == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    if (sigaction(SIGALRM, &sa, NULL) != 0) return 3;

    int fds[2];
    char c = 0;
    /* A few calls first, so the thread's ring exists (its first call is a direct syscall). */
    if (pipe(fds) != 0) return 4;
    for (int i = 0; i < 3; i++) {
        if (write(fds[1], "w", 1) != 1 || read(fds[0], &c, 1) != 1) return 5;
    }
    int wait_fd = fds[0], peer = -1, listener = -1;
    if (strcmp(call, "accept") == 0 || strcmp(call, "recv") == 0) {
        struct sockaddr_in addr;
        socklen_t len = sizeof addr;
        memset(&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        listener = socket(AF_INET, SOCK_STREAM, 0);
        if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 4) ||
            getsockname(listener, (struct sockaddr *)&addr, &len))
            return 6;
        if (strcmp(call, "recv") == 0) {
            peer = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(peer, (struct sockaddr *)&addr, sizeof addr)) return 7;
            wait_fd = accept(listener, NULL, NULL);
        } else {
            wait_fd = listener;
        }
        if (restart) {
            /* After the alarm, a child provides what the call waits for. */
            if (fork() == 0) {
                sleep(2);
                if (strcmp(call, "recv") == 0) {
                    send(peer, "r", 1, 0);
                } else {
                    int s = socket(AF_INET, SOCK_STREAM, 0);
                    connect(s, (struct sockaddr *)&addr, sizeof addr);
                }
                sleep(1);
                _exit(0);
            }
        }
    } else if (restart) {
        if (fork() == 0) {
            sleep(2);
            if (write(fds[1], "z", 1) != 1) _exit(1);
            _exit(0);
        }
    }
    alarm(1);
    long res;
    if (strcmp(call, "read") == 0) {
        res = read(wait_fd, &c, 1);
    } else if (strcmp(call, "poll") == 0) {
        /* poll(2) fails with EINTR after any handler, SA_RESTART or not. */
        struct pollfd p = {.fd = wait_fd, .events = POLLIN};
        res = poll(&p, 1, 5000);
        if (res == 1) c = 'p';
    } else if (strcmp(call, "accept") == 0) {
        res = accept(wait_fd, NULL, NULL);
        if (res >= 0) { close((int)res); res = 1; c = 'a'; }
    } else {
        res = recv(wait_fd, &c, 1, 0);
    }
    int err = errno;
    printf("%s %s: result %ld, %s, handled %d, got %c\n", call, argv[2], res,
           res < 0 ? strerror(err) : "no error", (int)handled, res > 0 ? c : '-');
    while (wait(NULL) > 0) {
    }
    return 0;
}
