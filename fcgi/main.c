/*
 * main.c -- the wxauth worker process.
 *
 *	wxauth			serve FastCGI on fd 0 (as spawn-fcgi starts it)
 *	wxauth migrate DIR	apply pending migrations, then exit
 *	wxauth errpages DIR	write DIR/<status>.html: the JSON envelope for
 *				each error a web server makes itself
 *	wxauth purge		delete expired sessions and old rate counters
 *				(each worker also does it every
 *				WXAUTH_PURGE_INTERVAL seconds, one at a time)
 *	wxauth routes		print the routes served, "METHOD PATH" a line (a
 *				path ending in '/' is a prefix; docs/openapi.yaml
 *				is checked against this)
 *	wxauth check-config	read the configuration as a worker would; exit
 *				0, or 2 naming the bad variable (the pool runs
 *				this before starting workers that would only die)
 *
 * A worker serves WXAUTH_THREADS requests at once, each thread with its own
 * FCGX_Request, all sharing one small PostgreSQL pool and a pool of WeChat
 * clients (made as calls need them, freed after WX_CLIENT_IDLE_MS unused):
 * a thread waiting on WeChat's round trip holds no other request up.
 *
 * Signals: SIGTERM, SIGINT, SIGHUP, SIGQUIT and SIGUSR1 stop the worker
 * gracefully:
 * no new request is accepted, requests in flight finish (for at most
 * STOP_GRACE_S), then the process exits 0.  With WXAUTH_MAX_REQUESTS the
 * worker does the same by itself after that many requests (plus a random
 * 0-10%, so that the workers of a pool do not all recycle at once); the
 * supervisor starts a fresh one.
 */
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>

#include <sys/epoll.h>

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "migrate.h"
#include "wxauth.h"

#define STOP_GRACE_S	10		/* most time in-flight requests get */
#define THREAD_STACK	(512 * 1024)
#define POLL_MS		200		/* how soon an idle thread sees a stop */
#define STACK_KEEP	4096		/* an idle thread's stack kept below it */
#define IDLE_WAITS	5		/* POLL_MS waits before a thread gives back */
#define WX_CLIENT_IDLE_MS 10000		/* a WeChat client unused this long goes */

struct worker {
	pthread_t		 tid;
	FCGX_Request		 fr;
	volatile sig_atomic_t	 done;
	uintptr_t		 stack_lo;	/* its stack: [stack_lo, stack_hi) */
	uintptr_t		 stack_hi;
	int			 used;		/* has served since it went idle */
	int			 idle;		/* POLL_MS waits since it served */
};

static volatile sig_atomic_t	 stopping;
static long			 served_left;	/* recycling; guarded by served_mu */
static unsigned long		 served_total;	/* guarded by served_mu */
static pthread_mutex_t		 served_mu = PTHREAD_MUTEX_INITIALIZER;
static struct app		 app;
static struct wx_conf		 wxconf;

static const char *
env_get(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

/* Recycling: after the last allowed request, stop like on SIGTERM. */
static void
count_served(void)
{
	int	 last;

	pthread_mutex_lock(&served_mu);
	served_total++;
	last = served_left > 0 && --served_left == 0;
	pthread_mutex_unlock(&served_mu);
	if (last) {
		log_msg(LOG_INFO, NULL, "served WXAUTH_MAX_REQUESTS requests: "
		    "recycling");
		kill(getpid(), SIGTERM);
	}
}

/*
 * OpenSSL's OPENSSL_thread_stop(), when libcurl's (or libpq's) TLS is
 * OpenSSL, else NULL; looked up at start, so that wxauth neither links nor
 * includes OpenSSL itself.
 */
static void	(*tls_thread_stop)(void);

/*
 * A thread that has waited IDLE_WAITS * POLL_MS (1 s) for work gives back
 * what its last busy spell left it holding, once per spell (not sooner:
 * under load, with more threads than connections to serve, a thread often
 * waits a few hundred ms for its turn to accept, and giving back each time
 * cost a madvise and the page faults after it on every other request):
 * - OpenSSL's state for the thread (its random generators and error queue,
 *   about 20 KiB, made by the thread's first TLS call and otherwise kept
 *   until the thread exits; OpenSSL makes it again on the next call);
 * - the pages of its stack below the frame it waits in: a deep request (a
 *   TLS handshake, a big JSON body) leaves them touched, and private to the
 *   process, for the life of the thread otherwise.  Only the thread itself
 *   does this, and only below its own stack pointer, which nothing uses.
 * Connections (WeChat clients, PostgreSQL) are the process's, not the
 * thread's, and stay.
 */
static void
release_thread(struct worker *w)
{
	uintptr_t	 pg = (uintptr_t)sysconf(_SC_PAGESIZE), lo, hi, sp;

	if (w == NULL || !w->used || ++w->idle < IDLE_WAITS)
		return;
	w->used = 0;
	if (tls_thread_stop != NULL)
		tls_thread_stop();
	if (w->stack_lo == 0)
		return;
	/* The frame's address, never a local's (a sanitizer may move those). */
	sp = (uintptr_t)__builtin_frame_address(0);
	if (sp <= w->stack_lo + STACK_KEEP || sp > w->stack_hi)
		return;
	lo = (w->stack_lo + pg - 1) & ~(pg - 1);
	hi = (sp - STACK_KEEP) & ~(pg - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/*
 * One thread of the process at a time waits for a connection and accepts
 * it (the others wait for this mutex, waking to see a stop), so that a new
 * connection wakes one thread per process, not all of them.  It first
 * tries to accept at once (under load one is mostly waiting), then waits on
 * listen_ep, an epoll set holding the listening socket as EPOLLEXCLUSIVE:
 * a new connection wakes the waiting thread of one process, not of every
 * process of the pool (poll() would wake them all, and all but one would
 * find nothing to accept: measured, half an extra wake-up, poll and failed
 * accept per request with two workers).  -1: no epoll, poll() instead.
 */
static pthread_mutex_t	 accept_mu = PTHREAD_MUTEX_INITIALIZER;
static int		 listen_ep = -1;

static void
listen_ep_open(void)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	if ((listen_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return;
	if (epoll_ctl(listen_ep, EPOLL_CTL_ADD, 0, &ev) == -1) {
		close(listen_ep);
		listen_ep = -1;
	}
}

/*
 * Wait until fd -- the listening socket (0, through listen_ep when there is
 * one), or a connection the web server keeps -- is readable (or a stop
 * begins).  1: accept or read; 0: stopping.  No signal is ever used to
 * interrupt a thread: libfcgi's accept also reads the new connection's
 * first bytes (waiting up to 2 s for them on a unix socket), and a signal
 * there would cut a request short.
 */
static int
wait_readable(int fd, struct worker *w)
{
	struct epoll_event	 ev;
	struct pollfd		 p;

	while (!stopping) {
		if (fd == 0 && listen_ep != -1) {
			if (epoll_wait(listen_ep, &ev, 1, POLL_MS) > 0)
				return 1;
		} else {
			p.fd = fd;
			p.events = POLLIN;
			p.revents = 0;
			if (poll(&p, 1, POLL_MS) > 0)
				return 1;
		}
		release_thread(w);
	}
	return 0;
}

static int
accept_one(struct worker *w)
{
	struct timespec	 dl;
	int		 rc;

	/*
	 * A connection the web server keeps open (nginx's fastcgi_keep_conn)
	 * needs no accept: wait for its next request, or for a stop, which
	 * closes it while it is idle (nginx drops an idle connection that
	 * closes and sends the next request on another).
	 */
	if (w->fr.ipcFd >= 0) {
		if (wait_readable(w->fr.ipcFd, w))
			return FCGX_Accept_r(&w->fr);
		w->fr.keepConnection = 0;
		FCGX_Finish_r(&w->fr);
		return -EINTR;
	}
	for (;;) {
		if (stopping)
			return -EINTR;
		clock_deadline(CLOCK_REALTIME, POLL_MS, &dl);
		if (pthread_mutex_timedlock(&accept_mu, &dl) == 0)
			break;
		release_thread(w);
	}
	/*
	 * Under load a connection is mostly waiting already: accept it at
	 * once (the socket is non-blocking), and wait only when there is none.
	 * Not once a stop has begun (it may have while this thread waited for
	 * the lock).
	 */
	rc = stopping ? -EINTR : FCGX_Accept_r(&w->fr);
	if (rc == -EAGAIN || rc == -EWOULDBLOCK)
		rc = wait_readable(0, w) ? FCGX_Accept_r(&w->fr) : -EINTR;
	pthread_mutex_unlock(&accept_mu);
	return rc;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct timespec	 pause = { 0, 100 * 1000 * 1000 };
	pthread_attr_t	 at;
	void		*lo;
	size_t		 sz;
	int		 rc;

	if (pthread_getattr_np(pthread_self(), &at) == 0) {
		if (pthread_attr_getstack(&at, &lo, &sz) == 0) {
			w->stack_lo = (uintptr_t)lo;
			w->stack_hi = (uintptr_t)lo + sz;
		}
		pthread_attr_destroy(&at);
	}
	while (!stopping) {
		rc = accept_one(w);
		if (rc < 0) {
			if (stopping)
				break;
			/* Another worker took it: the socket is non-blocking. */
			if (rc == -EAGAIN || rc == -EWOULDBLOCK)
				continue;
			/* EMFILE, ENOBUFS...: the thread must not die quietly. */
			log_msg(LOG_WARN, NULL, "accept failed (%d); retrying", rc);
			nanosleep(&pause, NULL);
			continue;
		}
		serve_request(&app, &w->fr);
		FCGX_Finish_r(&w->fr);
		w->used = 1;
		w->idle = 0;
		count_served();
	}
	FCGX_Finish_r(&w->fr);
	w->done = 1;
	return NULL;
}

/* Stop accepting, let requests in flight finish, join the threads. */
static void
stop_workers(struct worker *ws, long n)
{
	time_t		 deadline = time(NULL) + STOP_GRACE_S;
	struct timespec	 tick = { 0, 20 * 1000 * 1000 };
	long		 i, left;

	stopping = 1;
	FCGX_ShutdownPending();
	for (;;) {
		for (i = 0, left = 0; i < n; i++)
			if (!ws[i].done)
				left++;
		if (left == 0)
			break;
		if (time(NULL) >= deadline) {
			log_msg(LOG_WARN, NULL, "stop: %ld requests still "
			    "running after %d s, exiting", left, STOP_GRACE_S);
			_exit(0);
		}
		nanosleep(&tick, NULL);
	}
	for (i = 0; i < n; i++)
		pthread_join(ws[i].tid, NULL);
}

/* Make sure fds 1 and 2 are open, so that no socket becomes stderr. */
static void
sane_fds(void)
{
	int	 fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static int
cmd_migrate(const char *dir)
{
	struct config	 cfg;
	struct db	*db;
	char		 msg[256];
	int		 applied;
	enum err	 er;

	if (config_load(&cfg, CONFIG_MIGRATE, env_get, NULL, msg,
	    sizeof(msg)) == -1) {
		fprintf(stderr, "wxauth migrate: %s\n", msg);
		return 2;
	}
	log_set_level(cfg.log_level);
	if ((db = db_open(cfg.database_url, 1, 5000, 0, DB_PREPARE_OFF)) == NULL)
		abort();
	er = migrate_run(db, dir, &applied, msg, sizeof(msg));
	if (er != ERR_OK)
		fprintf(stderr, "wxauth migrate: %s\n", msg);
	else
		fprintf(stderr, "wxauth migrate: %d applied, schema up to "
		    "date\n", applied);
	db_close(db);
	config_free(&cfg);
	return er == ERR_OK ? 0 : 1;
}

#define PURGE_BATCH	1000	/* rows per statement */
#define PURGE_ROUNDS	100	/* statements per purge, at most */

/* One purge: batches until done, or another process is at it.  Rows or -1. */
static long
purge(struct db *db, long idle)
{
	long	 s, r, total = 0;
	int	 i, locked;

	for (i = 0; i < PURGE_ROUNDS; i++) {
		if (db_purge(db, idle, PURGE_BATCH, &s, &r, &locked, NULL) !=
		    ERR_OK)
			return -1;
		total += s + r;
		if (!locked || (s < PURGE_BATCH && r < PURGE_BATCH))
			break;
	}
	return total;
}

static int
cmd_purge(void)
{
	struct config	 cfg;
	struct db	*db;
	char		 msg[512];
	long		 n;

	if (config_load(&cfg, CONFIG_WORKER, env_get, NULL, msg,
	    sizeof(msg)) == -1) {
		fprintf(stderr, "wxauth purge: configuration: %s\n", msg);
		return 2;
	}
	log_set_level(cfg.log_level);
	if ((db = db_open(cfg.database_url, 1, 5000, 60000, DB_PREPARE_OFF)) == NULL)
		abort();
	n = purge(db, cfg.session_idle);
	if (n >= 0)
		fprintf(stderr, "wxauth purge: %ld rows deleted\n", n);
	else
		fprintf(stderr, "wxauth purge: failed (see the log)\n");
	db_close(db);
	config_free(&cfg);
	return n >= 0 ? 0 : 1;
}

/*
 * The worker's maintenance thread: a purge every purge_interval seconds
 * (give or take 20%, so the workers of a pool spread out; the purge's own
 * lock keeps them from running at once).
 */
static void *
maint_main(void *arg)
{
	const struct config	*cfg = arg;
	struct timespec		 tick = { 0, 200 * 1000 * 1000 };
	uint8_t			 r[2];
	long			 wait = 0, n, since_trim = 0;
	unsigned long		 now_served, last_served = 0, trimmed_at = 0;
	int			 idle;

	while (!stopping) {
		if (wait <= 0 && cfg->purge_interval > 0) {
			wait = cfg->purge_interval * 1000;
			if (crypto_random(r, sizeof(r)) == 0)
				wait += (long)((r[0] | r[1] << 8) % 4001 -
				    2000) * cfg->purge_interval / 10;
		}
		nanosleep(&tick, NULL);
		wait -= 200;
		if (stopping)
			break;
		/*
		 * Every second: the counts taken ahead of the database go to
		 * it; WeChat clients left over from a burst of calls are
		 * freed; and after those, once the worker falls idle (a
		 * second without a request after some), or every 10 s, the
		 * heap's free pages go back to the system (a burst of requests
		 * leaves them scattered among live chunks, where glibc's own
		 * trim at the top of the heap misses them).
		 */
		if ((since_trim += 200) % 1000 == 0) {
			app_flush_counts(&app);
			pthread_mutex_lock(&served_mu);
			now_served = served_total;
			pthread_mutex_unlock(&served_mu);
			idle = now_served == last_served &&
			    now_served != trimmed_at;
			last_served = now_served;
			if (wx_pool_trim(app.wxp, WX_CLIENT_IDLE_MS) > 0 ||
			    idle || since_trim >= 10000) {
				since_trim = 0;
				trimmed_at = now_served;
				malloc_trim(0);
			}
		}
		if (cfg->purge_interval > 0 && wait <= 0 &&
		    (n = purge(app.db, cfg->session_idle)) > 0)
			log_msg(LOG_INFO, NULL, "purge: %ld expired rows deleted",
			    n);
	}
	return NULL;
}

static int
cmd_errpages(const char *dir)
{
	struct reply	 rp;
	struct buf	 b;
	char		 path[4096];
	FILE		*f;
	int		 i, rc = 0;

	for (i = 0; i < err_server_nstatuses; i++) {
		reply_init(&rp);
		rp.er = err_for_server_status(err_server_statuses[i]);
		buf_init(&b, 4096);
		snprintf(path, sizeof(path), "%s/%d.html", dir,
		    err_server_statuses[i]);
		if (reply_body(&rp, &b) == -1 || (f = fopen(path, "w")) == NULL) {
			fprintf(stderr, "wxauth errpages: cannot write %s\n",
			    path);
			rc = 1;
		} else {
			fwrite(b.p, 1, b.len, f);
			if (fclose(f) != 0)
				rc = 1;
		}
		buf_free(&b);
	}
	return rc;
}

static int
cmd_routes(void)
{
	const struct route	*rt;
	size_t			 n, i;

	rt = routes_table(&n);
	for (i = 0; i < n; i++) {
		if (rt[i].methods & METHOD_GET)
			printf("GET %s\n", rt[i].path);
		if (rt[i].methods & METHOD_POST)
			printf("POST %s\n", rt[i].path);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	struct config		 cfg;
	struct worker		*ws;
	struct sigaction	 sa;
	pthread_attr_t		 ta;
	pthread_t		 maint;
	sigset_t		 ss;
	char			 msg[512];
	uint8_t			 probe[8];
	long			 i;
	int			 sig, fl;

	sane_fds();
	/*
	 * One malloc arena for all threads: glibc's default of one per thread
	 * (up to 8 per core) multiplies a worker's private memory, and the
	 * threads spend their time waiting on sockets, not on malloc.
	 */
	mallopt(M_ARENA_MAX, 1);
	*(void **)&tls_thread_stop = dlsym(RTLD_DEFAULT, "OPENSSL_thread_stop");
	if (argc == 3 && strcmp(argv[1], "migrate") == 0)
		return cmd_migrate(argv[2]);
	if (argc == 3 && strcmp(argv[1], "errpages") == 0)
		return cmd_errpages(argv[2]);
	if (argc == 2 && strcmp(argv[1], "purge") == 0)
		return cmd_purge();
	if (argc == 2 && strcmp(argv[1], "routes") == 0)
		return cmd_routes();
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "check-config") != 0)) {
		fprintf(stderr, "usage: wxauth\n       wxauth migrate DIR\n"
		    "       wxauth errpages DIR\n       wxauth purge\n"
		    "       wxauth routes\n"
		    "       wxauth check-config\n");
		return 2;
	}
	if (config_load(&cfg, CONFIG_WORKER, env_get, NULL, msg,
	    sizeof(msg)) == -1) {
		fprintf(stderr, "wxauth: configuration: %s\n", msg);
		return 2;
	}
	if (argc == 2) {
		config_free(&cfg);
		fprintf(stderr, "wxauth: configuration ok\n");
		return 0;
	}
	if (cfg.max_requests > 0 && crypto_random(probe, sizeof(probe)) == 0)
		served_left = cfg.max_requests +
		    (long)(((unsigned long)probe[0] | (unsigned long)probe[1] << 8 |
		    (unsigned long)probe[2] << 16) %
		    (unsigned long)(cfg.max_requests / 10 + 1));
	log_set_level(cfg.log_level);
	if (crypto_random(probe, sizeof(probe)) == -1) {
		fprintf(stderr, "wxauth: the kernel's random generator is "
		    "unavailable\n");
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "wxauth: curl_global_init failed\n");
		return 1;
	}
	if (FCGX_Init() != 0 || FCGX_IsCGI()) {
		fprintf(stderr, "wxauth: fd 0 is not a FastCGI socket; start "
		    "me with spawn-fcgi (see README)\n");
		return 2;
	}

	/* Signals: handled by this thread alone, with sigwait(). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/*
	 * The listening socket is shared by every worker of the pool: one
	 * thread of each waits for it (wait_readable()), and the accept of one
	 * that loses the race to another process fails
	 * with EAGAIN instead of blocking where no stop can reach it.  (An
	 * accepted connection does not inherit O_NONBLOCK.)
	 */
	if ((fl = fcntl(0, F_GETFL)) == -1 ||
	    fcntl(0, F_SETFL, fl | O_NONBLOCK) == -1) {
		fprintf(stderr, "wxauth: fd 0: %s\n", strerror(errno));
		return 1;
	}
	listen_ep_open();
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGUSR1);
	/*
	 * Debian 12's multiwatch 1.0.0 maps its -s option wrongly: asked for
	 * `-s TERM` it sends SIGQUIT (seen with strace; -s INT sends SIGHUP,
	 * -s HUP nothing).  SIGQUIT's default action kills at once, requests
	 * in flight included, so it is a graceful stop here too.
	 */
	sigaddset(&ss, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);

	if (app_open(&app, &wxconf, &cfg) == -1)
		abort();

	if ((ws = calloc((size_t)cfg.threads, sizeof(*ws))) == NULL)
		abort();
	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, THREAD_STACK);
	for (i = 0; i < cfg.threads; i++) {
		if (FCGX_InitRequest(&ws[i].fr, 0, 0) != 0 ||
		    pthread_create(&ws[i].tid, &ta, worker_main, &ws[i]) != 0) {
			log_msg(LOG_ERROR, NULL, "cannot start thread %ld", i);
			return 1;
		}
	}
	if (pthread_create(&maint, &ta, maint_main, &cfg) != 0) {
		log_msg(LOG_ERROR, NULL, "cannot start the maintenance thread");
		return 1;
	}
	pthread_attr_destroy(&ta);
	log_msg(LOG_INFO, NULL, "worker ready: %ld threads, %ld database "
	    "connections, WeChat at %s%s; idle threads %s", cfg.threads,
	    cfg.db_pool, cfg.wx_api_base,
	    cfg.wx_ca_file != NULL ? " (own CA file)" : "",
	    tls_thread_stop != NULL ? "give back OpenSSL's state" :
	    "keep their TLS library's state (not OpenSSL)");

	for (;;) {
		if (sigwait(&ss, &sig) != 0)
			continue;
		log_msg(LOG_INFO, NULL, "signal %d: finishing requests in "
		    "flight, then exiting", sig);
		break;
	}
	stop_workers(ws, cfg.threads);
	pthread_join(maint, NULL);
	app_flush_counts(&app);		/* what was counted ahead */
	free(ws);
	app_close(&app);
	curl_global_cleanup();
	config_free(&cfg);
	log_msg(LOG_INFO, NULL, "worker stopped");
	return 0;
}
