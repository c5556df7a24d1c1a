/*
 * fuzz_worker.c -- raw FastCGI byte streams sent to one real worker.
 *
 * LLVMFuzzerInitialize() starts ONE worker program (WXAUTH_FUZZ_WORKER,
 * by default build-fuzz/worker/wxauth: the program built with ASan+UBSan)
 * with spawn-fcgi -n on a unix socket in a scratch directory
 * (WXAUTH_FUZZ_DIR), configured so that it needs nothing outside this
 * machine: PostgreSQL is a socket directory where no server listens (the
 * worker answers 503) and WeChat is a loopback port bound here and never
 * listened on (connections are refused at once: 502).
 *
 * Each input is one connection's bytes: FastCGI records (BEGIN_REQUEST,
 * PARAMS, STDIN, ... mutated, truncated, with oversized lengths, bad
 * versions, interleaved request ids, management records).  The harness
 * sends them, half-closes, and reads the answer to the end.  Invariants,
 * after every input: the worker is still running; it closed the connection
 * within CONN_DEADLINE_MS; whatever it wrote was whole version-1 records;
 * and it still answers a well-formed GET /healthz with a complete,
 * well-formed response (a Status line, our headers, a JSON envelope, an
 * FCGI_END_REQUEST with FCGI_REQUEST_COMPLETE).  At exit the worker is
 * stopped with SIGTERM and must exit 0 with no sanitizer report in its log
 * (WXAUTH_FUZZ_DIR/worker.log).
 *
 * The worker's own coverage is not visible to libFuzzer (another process);
 * the harness branches on what came back (record types, statuses, protocol
 * status), so that inputs giving new kinds of answers are kept, and a
 * custom mutator makes FastCGI-shaped changes besides libFuzzer's own.
 *
 * At a few hundred inputs a second this is the check of the whole program
 * (spawn-fcgi's socket, the accept loop, threads, the process surviving);
 * the search itself is fuzz_fcgi, the same libfcgi and request path in one
 * process at thousands a second.  `make fuzz` replays fuzz_fcgi's corpus
 * here (make fuzz-replay-worker: -runs=0); run by hand without -runs it
 * mutates as any target.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "fcgi_model.h"

#define CONN_DEADLINE_MS	10000	/* a connection must be closed by then */
#define READY_MS		20000	/* the worker must answer by then */
#define OUT_MAX			(8 * 1024 * 1024)


static pid_t	 worker = -1;
static char	 dir[256], sockpath[108], logpath[300];
static int	 wxport_fd = -1;
static long	 execs, known_libfcgi, skipped;
static int	 strict;		/* FUZZ_FCGI_STRICT=1 */
static off_t	 log_mark;		/* log size when the worker started */
static char	 envbuf[16][512];	/* the worker's environment */
static char	*wenv[17];

static void	 start_worker(void);

static long
now_ms(void)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The last lines of the worker's log, for a report. */
static void
show_log(void)
{
	char	 buf[8192];
	ssize_t	 n;
	off_t	 end;
	int	 fd;

	if ((fd = open(logpath, O_RDONLY)) == -1)
		return;
	end = lseek(fd, 0, SEEK_END);
	lseek(fd, end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0,
	    SEEK_SET);
	fprintf(stderr, "---- last of %s ----\n", logpath);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	fprintf(stderr, "---- end of worker log ----\n");
	close(fd);
}

#define FAIL(...) do {							\
	fprintf(stderr, "fuzz_worker: after %ld inputs: ", execs);	\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, "\n");						\
	show_log();							\
	abort();							\
} while (0)


/* Has the worker died?  Then say how, and stop. */
static void
check_alive(void)
{
	int	 st;
	pid_t	 r = waitpid(worker, &st, WNOHANG);

	if (r == 0)
		return;
	if (r == worker && WIFSIGNALED(st))
		FAIL("the worker died of signal %d", WTERMSIG(st));
	if (r == worker)
		FAIL("the worker exited with status %d", WEXITSTATUS(st));
	FAIL("waitpid: %s", strerror(errno));
}

static int
dial(void)
{
	struct sockaddr_un	 sa;
	int			 fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		FAIL("socket: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Send n bytes, half-close, read everything until EOF into *out.
 * Returns 0, or -1 if the worker did not close within the deadline.
 * The worker may close early (it refuses a stream): sending stops then.
 */
static int
exchange(int fd, const uint8_t *p, size_t n, uint8_t **out, size_t *outlen)
{
	struct pollfd	 pfd;
	long		 deadline = now_ms() + CONN_DEADLINE_MS, left;
	size_t		 sent = 0, cap = 65536, len = 0;
	uint8_t		*o;
	ssize_t		 r;
	int		 wr = 1;

	if ((o = malloc(cap)) == NULL)
		abort();
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (n == 0) {
		shutdown(fd, SHUT_WR);
		wr = 0;
	}
	for (;;) {
		if ((left = deadline - now_ms()) <= 0) {
			free(o);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | (wr ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (wr && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			r = send(fd, p + sent, n - sent, MSG_NOSIGNAL);
			if (r > 0)
				sent += (size_t)r;
			if ((r == -1 && errno != EAGAIN && errno != EINTR) ||
			    sent == n) {
				shutdown(fd, SHUT_WR);
				wr = 0;
			}
		}
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
			if (len == cap) {
				if (cap >= OUT_MAX)
					FAIL("the worker wrote over %d bytes",
					    OUT_MAX);
				cap *= 2;
				if ((o = realloc(o, cap)) == NULL)
					abort();
			}
			r = recv(fd, o + len, cap - len, 0);
			if (r == 0 || (r == -1 && errno == ECONNRESET))
				break;
			if (r > 0)
				len += (size_t)r;
			else if (errno != EAGAIN && errno != EINTR)
				break;
		}
	}
	*out = o;
	*outlen = len;
	return 0;
}

/* GET /healthz on a new connection: 0, or -1 and why. */
static int
health(const char *when)
{
	uint8_t		 req[1024], *out;
	size_t		 len, outlen;
	int		 fd, rc;

	len = health_request(req);
	if ((fd = dial()) == -1)
		return bad("%s: cannot connect to the worker: %s", when,
		    strerror(errno));
	if (exchange(fd, req, len, &out, &outlen) == -1) {
		close(fd);
		return bad("%s: GET /healthz: no complete answer within %d ms",
		    when, CONN_DEADLINE_MS);
	}
	close(fd);
	rc = health_check(out, outlen, when);
	free(out);
	return rc;
}


/* Wait up to ms for the worker to be gone: 1 and *st, or 0. */
static int
worker_gone(long ms, int *st)
{
	long	 deadline = now_ms() + ms;

	for (;;) {
		if (waitpid(worker, st, WNOHANG) == worker) {
			worker = -1;
			return 1;
		}
		if (now_ms() >= deadline)
			return 0;
		usleep(10000);
	}
}

/* What the log got since offset mark (caller frees). */
static char *
log_since(off_t mark)
{
	size_t	 len = 0, cap = 65536;
	ssize_t	 n;
	char	*b;
	int	 fd;

	if ((b = malloc(cap)) == NULL)
		abort();
	if ((fd = open(logpath, O_RDONLY)) != -1) {
		lseek(fd, mark, SEEK_SET);
		while ((n = read(fd, b + len, cap - len - 1)) > 0) {
			len += (size_t)n;
			if (cap - len < 4096 && (b = realloc(b, cap *= 2)) == NULL)
				abort();
		}
		close(fd);
	}
	b[len] = '\0';
	return b;
}

/*
 * The worker died on an input.  One death is known and not ours to fix:
 * Debian's libfcgi (2.4.2-2+deb12u1) adds a PARAMS or GET_VALUES
 * name-value pair's two 31-bit lengths in an int, mallocs the (negative)
 * sum + 2, and its own assertion aborts the process when that fails (see
 * tests/fuzz/README.md).  That one is counted, its first inputs kept as
 * known-libfcgi-N, and a new worker started; with FUZZ_FCGI_STRICT=1, or
 * for any other death, the run fails.
 */
static void
after_death(int st, const uint8_t *data, size_t size)
{
	char		*l = log_since(log_mark), path[400];
	int		 known, fd;

	known = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT &&
	    strstr(l, "fcgiapp.c") != NULL &&
	    strstr(l, "Malloc: Assertion") != NULL &&
	    strstr(l, "ERROR: AddressSanitizer") == NULL &&
	    strstr(l, "runtime error:") == NULL;
	free(l);
	if (!known || strict) {
		if (WIFSIGNALED(st))
			FAIL("the worker died of signal %d", WTERMSIG(st));
		FAIL("the worker exited with status %d", WEXITSTATUS(st));
	}
	known_libfcgi++;
	if (known_libfcgi <= 3) {
		snprintf(path, sizeof(path), "%s/known-libfcgi-%ld", dir,
		    known_libfcgi);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1) {
			if (write(fd, data, size) != (ssize_t)size)
				fprintf(stderr, "fuzz_worker: %s: short write\n",
				    path);
			close(fd);
		}
	}
	if (known_libfcgi <= 3 || known_libfcgi % 100 == 0)
		fprintf(stderr, "fuzz_worker: known finding #%ld (libfcgi "
		    "ReadParams length overflow: the worker aborted); "
		    "starting another\n", known_libfcgi);
	start_worker();
}

/*
 * The leaks LeakSanitizer reported at the worker's exit are all the known
 * one: Debian's libfcgi allocates a parameter table for each management
 * record of an unknown type and never frees it (48 bytes a record; see
 * tests/fuzz/README.md).  Its two allocations come straight from libfcgi,
 * at these offsets of libfcgi.so.0 2.4.2-2+deb12u1; a leak with any other
 * stack, or another build of libfcgi, is not known.  Returns how many.
 */
static long
known_leaks(const char *l)
{
	const char	*p, *end, *f1;
	long		 n = 0;

	for (p = l; (p = strstr(p, " leak of ")) != NULL; p = end) {
		if ((end = strstr(p, "\n\n")) == NULL)
			end = p + strlen(p);
		f1 = strstr(p, "    #1 ");
		if (f1 == NULL || f1 > end || (strstr(p, "    #2 ") != NULL &&
		    strstr(p, "    #2 ") < end))
			return -1;
		if ((strstr(f1, "(/lib/x86_64-linux-gnu/libfcgi.so.0+0x5625)") !=
		    NULL && strstr(f1, "libfcgi.so.0+0x5625)") < end) ||
		    (strstr(f1, "(/lib/x86_64-linux-gnu/libfcgi.so.0+0x5643)") !=
		    NULL && strstr(f1, "libfcgi.so.0+0x5643)") < end))
			n++;
		else
			return -1;
	}
	return n;
}

/*
 * At exit: stop the worker with SIGTERM.  It must exit 0 (or 1, with a
 * LeakSanitizer report of the known libfcgi leak alone), and its log hold
 * no other sanitizer report.
 */
static void
stop_worker(void)
{
	static const char	*reports[] = { "ERROR: AddressSanitizer",
	    "SUMMARY: UndefinedBehaviorSanitizer", "runtime error:", NULL };
	char			*l;
	long			 deadline, leaks = 0;
	pid_t			 r;
	int			 st, i, ok = 1;

	if (worker <= 0)
		return;
	kill(worker, SIGTERM);
	for (deadline = now_ms() + 20000; ; ) {
		if ((r = waitpid(worker, &st, WNOHANG)) == worker)
			break;
		if (now_ms() > deadline) {
			fprintf(stderr, "fuzz_worker: the worker did not stop "
			    "within 20 s of SIGTERM\n");
			kill(worker, SIGKILL);
			waitpid(worker, &st, 0);
			ok = 0;
			break;
		}
		usleep(20000);
	}
	worker = -1;
	l = log_since(0);
	for (i = 0; reports[i] != NULL; i++)
		if (strstr(l, reports[i]) != NULL) {
			fprintf(stderr, "fuzz_worker: the worker's log has "
			    "\"%s\"\n", reports[i]);
			ok = 0;
		}
	if (strstr(l, "ERROR: LeakSanitizer") != NULL &&
	    (leaks = known_leaks(strstr(l, "ERROR: LeakSanitizer"))) < 1) {
		fprintf(stderr, "fuzz_worker: the worker leaked memory\n");
		ok = 0;
	}
	free(l);
	if (ok && !(WIFEXITED(st) && (WEXITSTATUS(st) == 0 ||
	    (WEXITSTATUS(st) == 1 && leaks > 0)))) {
		fprintf(stderr, "fuzz_worker: the worker ended badly on SIGTERM "
		    "(status 0x%x)\n", st);
		ok = 0;
	}
	if (!ok) {
		show_log();
		_exit(1);
	}
	fprintf(stderr, "fuzz_worker: %ld inputs sent, %ld skipped (the known "
	    "libfcgi overflow), %ld known libfcgi aborts, %ld known libfcgi "
	    "leaks; the worker stopped cleanly\n", execs, skipped,
	    known_libfcgi, leaks);
}

static const char *
find_spawn_fcgi(void)
{
	static const char	*where[] = { "/usr/bin/spawn-fcgi",
	    "/usr/local/bin/spawn-fcgi", "/usr/sbin/spawn-fcgi", NULL };
	int			 i;

	for (i = 0; where[i] != NULL; i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	fprintf(stderr, "fuzz_worker: spawn-fcgi not found (apt-get install "
	    "spawn-fcgi)\n");
	exit(1);
}

static const char	*worker_bin, *spawn_fcgi;

/* Once: the worker's program, its environment, "WeChat"'s port. */
static void
setup(void)
{
	char			 absdir[PATH_MAX];
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 i = 0, k;

	spawn_fcgi = find_spawn_fcgi();
	if ((worker_bin = getenv("WXAUTH_FUZZ_WORKER")) == NULL)
		worker_bin = "build-fuzz/worker/wxauth";
	if (access(worker_bin, X_OK) != 0) {
		fprintf(stderr, "fuzz_worker: no worker program at %s "
		    "(make fuzz-worker)\n", worker_bin);
		exit(1);
	}
	/* A loopback port for "WeChat" that refuses every connection. */
	if ((wxport_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		abort();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(wxport_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(wxport_fd, (struct sockaddr *)&sin, &sl) == -1)
		abort();
	if (realpath(dir, absdir) == NULL)
		abort();
#define E(...)	snprintf(envbuf[i++], sizeof(envbuf[0]), __VA_ARGS__)
	E("PATH=/usr/bin:/bin");
	E("WX_APPID=wx4f4bc4dec97d474b");
	E("WX_SECRET=fuzz-secret-0123456789");
	/* base64 of the 32 bytes "wxauth fuzz data key, not secret" */
	E("WXAUTH_DATA_KEY=d3hhdXRoIGZ1enogZGF0YSBrZXksIG5vdCBzZWNyZXQ=");
	/* A socket directory where no PostgreSQL listens: 503 at once. */
	E("DATABASE_URL=host=%s port=1 dbname=wxauth user=wxauth "
	    "connect_timeout=2", absdir);
	E("WX_API_BASE=http://127.0.0.1:%d", ntohs(sin.sin_port));
	E("WX_TIMEOUT_MS=2000");
	E("WXAUTH_THREADS=4");
	E("WXAUTH_DB_POOL=1");
	E("WXAUTH_DB_WAIT_MS=200");
	E("WXAUTH_LOG_LEVEL=error");
	/* NULL from a failed malloc, as glibc gives, not an ASan report. */
	E("ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:"
	    "quarantine_size_mb=16");
	E("UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1");
#undef E
	for (k = 0; k < i; k++)
		wenv[k] = envbuf[k];
	wenv[i] = NULL;
	atexit(stop_worker);
}

/* Start a worker and wait until it answers GET /healthz. */
static void
start_worker(void)
{
	struct stat	 sb;
	long		 deadline;
	int		 fd, lfd;

	unlink(sockpath);
	if ((lfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) == -1) {
		fprintf(stderr, "fuzz_worker: %s: %s\n", logpath, strerror(errno));
		exit(1);
	}
	log_mark = fstat(lfd, &sb) == 0 ? sb.st_size : 0;
	if ((worker = fork()) == -1)
		abort();
	if (worker == 0) {
		/* Never outlive the harness, whatever ends it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		dup2(lfd, 1);
		dup2(lfd, 2);
		execle(spawn_fcgi, "spawn-fcgi", "-n", "-s", sockpath, "-M",
		    "0600", "--", worker_bin, (char *)NULL, wenv);
		_exit(127);
	}
	close(lfd);
	for (deadline = now_ms() + READY_MS; (fd = dial()) == -1; ) {
		check_alive();
		if (now_ms() > deadline)
			FAIL("the worker did not listen within %d ms", READY_MS);
		usleep(20000);
	}
	close(fd);
	if (health("at start") == -1)
		FAIL("%s", why);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*d = getenv("WXAUTH_FUZZ_DIR");
	const char	*st = getenv("FUZZ_FCGI_STRICT");

	strict = st != NULL && strcmp(st, "1") == 0;
	signal(SIGPIPE, SIG_IGN);
	if (d != NULL && strlen(d) + sizeof("/w.sock") <= sizeof(sockpath)) {
		mkdir(d, 0755);
		snprintf(dir, sizeof(dir), "%s", d);
	} else {
		snprintf(dir, sizeof(dir), "/tmp/wxauth-fuzz-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	snprintf(sockpath, sizeof(sockpath), "%s/w.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/worker.log", dir);
	setup();
	start_worker();
	return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	*out;
	size_t	 outlen;
	int	 fd, rc, st;

	check_alive();
	if (!strict && known_overflow(data, size)) {
		skipped++;
		return -1;
	}
	if ((fd = dial()) == -1)
		rc = bad("cannot connect to the worker: %s", strerror(errno));
	else {
		rc = exchange(fd, data, size, &out, &outlen);
		close(fd);
		if (rc == -1)
			bad("the worker kept a connection open over %d ms",
			    CONN_DEADLINE_MS);
		else {
			rc = feedback(out, outlen);
			free(out);
		}
	}
	if (rc == 0)
		rc = health("after an input");
	execs++;
	if (worker_gone(rc == 0 ? 0 : 2000, &st)) {
		after_death(st, data, size);
		return -1;	/* known: not worth keeping in the corpus */
	}
	if (rc != 0)
		FAIL("%s", why);
	return 0;
}

