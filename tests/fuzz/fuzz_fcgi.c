/*
 * fuzz_fcgi.c -- raw FastCGI byte streams through libfcgi and the worker's
 * request path, in this process.
 *
 * Each input is one connection's bytes: FastCGI records (BEGIN_REQUEST,
 * PARAMS, STDIN, ... mutated, truncated, with oversized lengths, bad
 * versions, interleaved request ids, management records; see the mutator
 * in fcgi_model.h).  They are written to one end of a unix socketpair,
 * which is then half-closed; on the other end the same thread runs what a
 * worker thread runs (main.c's
 * worker_main): FCGX_Accept_r() on the connection, serve_request() (the
 * worker's own serve.c, routes, handlers and lib/), FCGX_Accept_r() again
 * while the web server asked to keep the connection, until libfcgi closes
 * it; then the answer is read from the first end.  The application is configured as fuzz_worker's is: PostgreSQL is a
 * socket directory where nothing listens (503 at once) and WeChat a
 * loopback port that refuses connections (502 at once).
 *
 * Invariants, after every input: whatever came back was whole version-1
 * records of known types; the connection was closed (libFuzzer's -timeout
 * catches a hang); a well-formed GET /healthz on a new connection still
 * gets a complete, well-formed answer; and the memory in use by the
 * process (AddressSanitizer's count of allocated bytes) has not grown
 * over the input, save for the known libfcgi leak of 48 bytes per
 * management record of an unknown type.
 *
 * The known libfcgi abort (a name-value length pair whose sum overflows
 * an int: malloc fails and libfcgi's Malloc asserts) is recognised
 * exactly: this program defines __assert_fail, which libfcgi's assert()
 * calls, and an assertion in fcgiapp.c's Malloc() jumps back here; the
 * request is freed, the input counted (the first ones kept as
 * known-libfcgi-N in WXAUTH_FUZZ_DIR) and not kept in the corpus.  Any
 * other assertion, anywhere, aborts as usual.  With FUZZ_FCGI_STRICT=1 the
 * known assertion and the known leak abort too.
 *
 * Inputs whose name-value lengths would make libfcgi allocate over
 * BIG_ALLOC are not run (counted; the model of fcgi_model.h): libfcgi
 * allocates a pair's declared length before reading it, and ASan spends
 * its time poisoning gigabytes.  With inputs of at most 16 KiB, a declared
 * length over 16 KiB takes libfcgi down the same path (a short read, a
 * parameter error) whether it is 64 KiB or 2 GiB, so no path is lost.
 * FUZZ_FCGI_ALL=1 runs them too (slowly: to replay a known finding).
 *
 * This is the search (thousands of inputs a second, with libFuzzer seeing
 * the coverage of libfcgi's callers and of all our code); fuzz_worker.c
 * replays the corpus against the real worker program over its socket.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include <sanitizer/allocator_interface.h>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "fcgi_model.h"
#include "log.h"
#include "wxauth.h"

#define OUT_MAX		(8 * 1024 * 1024)	/* an answer, at most */
#define KNOWN_LEAK	48	/* bytes, a management record of unknown type */
#define WARMUP		16	/* health requests before counting memory */
#define BIG_ALLOC	(1024 * 1024)	/* bytes; see the top */

static struct config	 cfg;
static struct app	 app;
static struct wx_conf	 wc;
static int		 lsock = -1;	/* a listener nobody connects to */
static char		 dir[256];
static long		 execs, leaky, known_libfcgi, skipped;
static int		 strict, run_all;	/* FUZZ_FCGI_STRICT, _ALL */

/* The web server's side of the last connection: what came back. */
static struct {
	uint8_t		 out[OUT_MAX];
	size_t		 outlen;
	int		 overflow;
} peer;

/* ---- the known libfcgi assertion ---- */

static sigjmp_buf		 known_jb;
static volatile sig_atomic_t	 in_libfcgi;

/*
 * glibc's assert() calls this; defined here, it is the one libfcgi's
 * calls resolve to.  Only an assertion in libfcgi's Malloc() (fcgiapp.c),
 * while this thread is in libfcgi or our request path, is the known bug;
 * everything else reports and aborts as glibc's would.
 */
void	__assert_fail(const char *, const char *, unsigned int, const char *)
	    __attribute__((noreturn));

void
__assert_fail(const char *expr, const char *file, unsigned int line,
    const char *fn)
{
	if (in_libfcgi && !strict && file != NULL && fn != NULL &&
	    strstr(file, "fcgiapp.c") != NULL && strcmp(fn, "Malloc") == 0) {
		in_libfcgi = 0;
		siglongjmp(known_jb, 1);
	}
	fprintf(stderr, "%s:%u: %s: Assertion `%s' failed.\n",
	    file != NULL ? file : "?", line, fn != NULL ? fn : "?",
	    expr != NULL ? expr : "?");
	abort();
}

const char	*__asan_default_options(void);

/*
 * A malloc that fails returns NULL, as glibc's does, rather than ending in
 * an ASan report: libfcgi's Malloc() then asserts, as in production.
 * Leaks: no check at exit; LLVMFuzzerTestOneInput checks the memory in use
 * after every input instead, which also catches growth that is not a leak.
 */
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1:detect_leaks=0";
}

/* ---- one connection ---- */

/*
 * The web server's side, before: the whole input is written and the
 * connection half-closed (an input fits the socket's buffer: -max_len is
 * 16 KiB).  After: everything the worker side wrote is read; its buffer
 * was made big enough to hold it all (SO_SNDBUFFORCE as root), so that
 * one thread serves both sides without a switch.
 */
static void
peer_send(int fd, const uint8_t *in, size_t inlen)
{
	size_t	 sent = 0;
	ssize_t	 r;

	while (sent < inlen) {
		r = send(fd, in + sent, inlen - sent, MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "fuzz_fcgi: an input did not fit the "
			    "socket (%zu of %zu bytes)\n", sent, inlen);
			abort();
		}
		sent += (size_t)r;
	}
	shutdown(fd, SHUT_WR);
}

static void
peer_recv(int fd)
{
	uint8_t	 sink[4096];
	ssize_t	 r;

	peer.outlen = 0;
	peer.overflow = 0;
	for (;;) {
		if (peer.outlen == sizeof(peer.out)) {
			peer.overflow = 1;
			r = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		} else
			r = recv(fd, peer.out + peer.outlen,
			    sizeof(peer.out) - peer.outlen, MSG_DONTWAIT);
		if (r > 0 && !peer.overflow)
			peer.outlen += (size_t)r;
		else if (r == 0 || (r == -1 && errno != EINTR))
			break;	/* EAGAIN: the worker side left it open */
	}
}

/*
 * Serve the connection whose far end gets in: what a worker thread does
 * with one connection.  0; 1 if libfcgi hit its known assertion.
 */
static int
connection(const uint8_t *in, size_t inlen)
{
	FCGX_Request	 fr;
	int		 sv[2], known = 0, sndbuf = 64 * 1024 * 1024;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		fprintf(stderr, "fuzz_fcgi: socketpair: %s\n", strerror(errno));
		abort();
	}
	if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
	    sizeof(sndbuf)) == -1)
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof(sndbuf));
	peer_send(sv[0], in, inlen);

	if (FCGX_InitRequest(&fr, lsock, 0) != 0)
		abort();
	/*
	 * The connection is already open: keepConnection stops the
	 * FCGX_Finish_r() that FCGX_Accept_r() begins with from closing it,
	 * as after a request the web server asked to keep it for.
	 */
	fr.ipcFd = sv[1];
	fr.keepConnection = 1;
	if (sigsetjmp(known_jb, 0) == 0) {
		in_libfcgi = 1;
		/*
		 * Once libfcgi closes the connection it accepts on lsock,
		 * which has nothing: -EAGAIN, as a worker's losing thread.
		 */
		while (FCGX_Accept_r(&fr) >= 0)
			serve_request(&app, &fr);
		FCGX_Finish_r(&fr);
		in_libfcgi = 0;
	} else
		known = 1;
	/*
	 * Only a malloc failed: libfcgi's request is whole, and freeing it
	 * (and closing the connection) is what FCGX_Accept_r() would have
	 * done after a parameter error.
	 */
	if (known)
		FCGX_Free(&fr, 1);
	peer_recv(sv[0]);
	close(sv[0]);
	if (!known && fr.ipcFd >= 0 && fcntl(fr.ipcFd, F_GETFD) != -1) {
		fprintf(stderr, "fuzz_fcgi: a connection left open\n");
		abort();
	}
	return known;
}

/* GET /healthz on a new connection: 0, or -1 and why. */
static int
health(const char *when)
{
	uint8_t	 req[1024];

	if (connection(req, health_request(req)) != 0)
		return bad("%s: GET /healthz hit the libfcgi assertion", when);
	if (peer.overflow)
		return bad("%s: GET /healthz: over %d bytes", when, OUT_MAX);
	return health_check(peer.out, peer.outlen, when);
}

/*
 * How many management records of an unknown type libfcgi may meet in d: an
 * upper bound (every offset a record could start at, as known_overflow()
 * reads them), for the known leak.
 */
static size_t
unknown_mgmt(const uint8_t *d, size_t n)
{
	size_t	 off, k = 0;

	for (off = 0; off + 8 <= n; off++)
		if (d[off + 2] == 0 && d[off + 3] == 0 &&
		    d[off + 1] != T_GET_VALUES)
			k++;
	return k;
}

/* libfcgi's Malloc() asserted on this input; keep the first ones. */
static void
count_known(const uint8_t *data, size_t size)
{
	char	 path[400];
	int	 fd;

	known_libfcgi++;
	if (known_libfcgi > 3)
		return;
	snprintf(path, sizeof(path), "%s/known-libfcgi-%ld", dir,
	    known_libfcgi);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1) {
		if (write(fd, data, size) != (ssize_t)size)
			fprintf(stderr, "fuzz_fcgi: %s: short write\n", path);
		close(fd);
	}
	fprintf(stderr, "fuzz_fcgi: known finding #%ld (libfcgi ReadParams "
	    "length overflow: its Malloc asserted)\n", known_libfcgi);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	 before, after, leak;
	int	 known;

	if (!run_all && nv_model(data, size, BIG_ALLOC)) {
		skipped++;
		return -1;
	}
	execs++;
	before = __sanitizer_get_current_allocated_bytes();
	if ((known = connection(data, size)) != 0)
		count_known(data, size);
	else if (peer.overflow) {
		fprintf(stderr, "fuzz_fcgi: an answer of over %d bytes\n",
		    OUT_MAX);
		abort();
	} else if (feedback(peer.out, peer.outlen) != 0) {
		fprintf(stderr, "fuzz_fcgi: %s\n", why);
		abort();
	}
	if (health(known ? "after libfcgi's assertion" : "after an input")
	    != 0) {
		fprintf(stderr, "fuzz_fcgi: %s\n", why);
		abort();
	}
	after = __sanitizer_get_current_allocated_bytes();
	/*
	 * Growth must be the known leak; shrinking is not a leak (state
	 * made earlier, once, may be freed: CI saw 184 bytes go on the first
	 * input after LLVMFuzzerInitialize).
	 */
	if (after > before) {
		leak = after - before;
		if (strict || leak % KNOWN_LEAK != 0 ||
		    leak / KNOWN_LEAK > unknown_mgmt(data, size)) {
			fprintf(stderr, "fuzz_fcgi: memory in use went from "
			    "%zu to %zu bytes on one input\n", before, after);
			abort();
		}
		leaky++;
	}
	return known ? -1 : 0;	/* known: not worth keeping in the corpus */
}

/* ---- set-up ---- */

static const char *
env_get(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

static void
report(void)
{
	fprintf(stderr, "fuzz_fcgi: %ld inputs run, %ld not (lengths over "
	    "%d bytes); libfcgi's Malloc asserted on %ld (the known "
	    "overflow); %ld leaked only the known 48-byte records\n", execs,
	    skipped, BIG_ALLOC, known_libfcgi, leaky);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in	 sin;
	struct sockaddr_un	 sun;
	socklen_t		 sl = sizeof(sin);
	char			 absdir[PATH_MAX], v[PATH_MAX + 128], msg[256];
	const char		*d = getenv("WXAUTH_FUZZ_DIR");
	const char		*st = getenv("FUZZ_FCGI_STRICT");
	int			 wxfd, i;

	(void)argc;
	(void)argv;
	strict = st != NULL && strcmp(st, "1") == 0;
	run_all = (st = getenv("FUZZ_FCGI_ALL")) != NULL && strcmp(st, "1") == 0;
	signal(SIGPIPE, SIG_IGN);
	if (d != NULL && strlen(d) + sizeof("/l.sock") < sizeof(sun.sun_path)) {
		mkdir(d, 0755);
		snprintf(dir, sizeof(dir), "%s", d);
	} else {
		snprintf(dir, sizeof(dir), "/tmp/wxauth-fuzz-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	if (realpath(dir, absdir) == NULL)
		abort();

	/* "WeChat": a loopback port bound and never listened on. */
	if ((wxfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		abort();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(wxfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(wxfd, (struct sockaddr *)&sin, &sl) == -1)
		abort();

	/* The configuration fuzz_worker gives its worker. */
	setenv("WX_APPID", "wx4f4bc4dec97d474b", 1);
	setenv("WX_SECRET", "fuzz-secret-0123456789", 1);
	/* base64 of the 32 bytes "wxauth fuzz data key, not secret" */
	setenv("WXAUTH_DATA_KEY",
	    "d3hhdXRoIGZ1enogZGF0YSBrZXksIG5vdCBzZWNyZXQ=", 1);
	/*
	 * A password, so that libpq never looks up ~/.pgpass: that lookup
	 * (getpwuid, glibc's NSS) makes and frees state of its own, and the
	 * per-input memory count saw it come and go (CI: 184 bytes).
	 */
	snprintf(v, sizeof(v), "host=%s port=1 dbname=wxauth user=wxauth "
	    "password=fuzz connect_timeout=2", absdir);
	setenv("DATABASE_URL", v, 1);
	snprintf(v, sizeof(v), "http://127.0.0.1:%d", ntohs(sin.sin_port));
	setenv("WX_API_BASE", v, 1);
	setenv("WX_TIMEOUT_MS", "2000", 1);
	setenv("WXAUTH_DB_POOL", "1", 1);
	setenv("WXAUTH_DB_WAIT_MS", "200", 1);
	setenv("WXAUTH_LOG_LEVEL", "error", 1);
	if (config_load(&cfg, CONFIG_WORKER, env_get, NULL, msg,
	    sizeof(msg)) == -1) {
		fprintf(stderr, "fuzz_fcgi: configuration: %s\n", msg);
		exit(1);
	}
	log_set_level(cfg.log_level);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || FCGX_Init() != 0 ||
	    app_open(&app, &wc, &cfg) == -1)
		abort();

	/* The pool's listening socket, never connected to. */
	if ((lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		abort();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/l.sock", dir);
	unlink(sun.sun_path);
	if (bind(lsock, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lsock, 1) == -1)
		abort();

	/* Whatever is made once (the pool's first try, curl's state). */
	for (i = 0; i < WARMUP; i++)
		if (health("at start") != 0) {
			fprintf(stderr, "fuzz_fcgi: %s\n", why);
			exit(1);
		}
	atexit(report);
	return 0;
}
