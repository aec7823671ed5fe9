/*
 * floor.c: the machine's floor for the box's exchange, the least any server can do per request:
 * accept one connection, read one request (the head up to its blank line, then Content-Length
 * bytes of body), write one fixed reply in one write(), close. scripts/bench-floor.sh runs it
 * side by side with essensys-backend; nothing here is parsed, stored or logged.
 *
 * Usage: floor PORT 'METHOD PATH=FILE[,FILE...]'...
 *   e.g. floor 18090 'GET /api/serverinfos=si0.reply,si1.reply' 'POST /api/mystatus=ms.reply'
 * A request whose line starts with "METHOD PATH " (or "METHOD PATH\r") gets the next of its
 * FILEs (round robin: the backend rotates its serverinfos windows the same way), byte for
 * byte; anything else gets a fixed 404. The replies are the backend's own, captured by the
 * script, so both servers write the same number of bytes for each request kind.
 *
 * Shape: single-threaded, BLOCKING accept loop (no epoll). A blocking accept/read/write/close
 * is 4 syscalls per request (accept4, read, write, close) and nothing else: no readiness
 * notification (epoll_wait), no EAGAIN read, no timer, no second thread. That is the floor the
 * issue compares against ("a C accept/read/write/close server"). It is not a production shape:
 * one stalled client stalls everyone (bounded here by SO_RCVTIMEO/SO_SNDTIMEO set once on the
 * listener, which accepted sockets inherit: no per-request syscall). The load generator is
 * well-behaved (wrk on loopback), so this never matters in the benchmark.
 *
 * Build: cc -O2 -o target/bench/floor scripts/floor.c
 * Stops on SIGTERM/SIGINT and prints how many connections it accepted (stderr).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_ROUTES 8
#define MAX_REPLIES 64
#define BUF 8192

struct reply { char *bytes; size_t len; };
struct route {
    char prefix[128];
    size_t prefix_len;
    struct reply replies[MAX_REPLIES];
    int count, next;
};

static struct route routes[MAX_ROUTES];
static int nroutes;
static volatile sig_atomic_t stop;
static unsigned long accepted;

static const char not_found[] =
    "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

static void on_signal(int sig) { (void)sig; stop = 1; }

static void die(const char *what) { perror(what); exit(1); }

static struct reply load(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) die(path);
    struct stat st;
    if (fstat(fd, &st) < 0) die(path);
    struct reply r = { malloc(st.st_size ? st.st_size : 1), (size_t)st.st_size };
    if (read(fd, r.bytes, r.len) != (ssize_t)r.len) die(path);
    close(fd);
    return r;
}

static void add_route(char *spec) {
    char *eq = strchr(spec, '=');
    if (!eq || nroutes == MAX_ROUTES) { fprintf(stderr, "floor: bad route %s\n", spec); exit(2); }
    *eq = 0;
    struct route *rt = &routes[nroutes++];
    rt->prefix_len = (size_t)snprintf(rt->prefix, sizeof rt->prefix, "%s", spec);
    for (char *f = strtok(eq + 1, ","); f && rt->count < MAX_REPLIES; f = strtok(NULL, ","))
        rt->replies[rt->count++] = load(f);
    if (!rt->count) { fprintf(stderr, "floor: route %s has no reply\n", spec); exit(2); }
}

/* Where the head ends (just past its blank line), or 0 if not yet. */
static size_t head_end(const char *b, size_t n) {
    const char *p = memmem(b, n, "\r\n\r\n", 4);
    return p ? (size_t)(p - b) + 4 : 0;
}

/* The Content-Length of a head of `head` bytes (0 if none): only line starts are compared. */
static size_t content_length(const char *b, size_t head) {
    static const char name[] = "content-length:";
    const char *end = b + head;
    for (const char *p = memchr(b, '\n', head); p && end - p > (long)sizeof name;
         p = memchr(p + 1, '\n', end - p - 1)) {
        if ((p[1] | 0x20) == 'c' && strncasecmp(p + 1, name, sizeof name - 1) == 0)
            return strtoul(p + sizeof name, NULL, 10);
    }
    return 0;
}

static const struct reply *answer_for(const char *b, size_t n) {
    static struct reply nf = { (char *)not_found, sizeof not_found - 1 };
    for (int i = 0; i < nroutes; i++) {
        struct route *rt = &routes[i];
        if (n > rt->prefix_len && memcmp(b, rt->prefix, rt->prefix_len) == 0 &&
            (b[rt->prefix_len] == ' ' || b[rt->prefix_len] == '\r')) {
            const struct reply *r = &rt->replies[rt->next];
            rt->next = (rt->next + 1) % rt->count;
            return r;
        }
    }
    return &nf;
}

static void serve(int c) {
    char buf[BUF];
    size_t n = 0, head = 0, want = 0;
    for (;;) {
        ssize_t r = read(c, buf + n, sizeof buf - n);
        if (r <= 0) return; /* closed, error or time-out: nothing owed */
        n += (size_t)r;
        if (!head && (head = head_end(buf, n))) want = head + content_length(buf, head);
        if (head && n >= want) break;
        if (n == sizeof buf) return; /* too large for this floor */
    }
    const struct reply *rep = answer_for(buf, n);
    (void)!write(c, rep->bytes, rep->len); /* one write; the reply is < 1500 bytes */
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: floor PORT 'METHOD PATH=FILE[,FILE...]'...\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) add_route(argv[i]);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked accept returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0) die("socket");
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct timeval tv = { 2, 0 };
    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(l, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(l, 4096) < 0) die("listen");

    while (!stop) {
        int c = accept4(l, NULL, NULL, 0);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
            die("accept4");
        }
        accepted++;
        serve(c);
        close(c);
    }
    fprintf(stderr, "floor: %lu connections accepted\n", accepted);
    return 0;
}
