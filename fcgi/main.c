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
 * A worker serves up to WXAUTH_THREADS requests at once, each thread with
 * its own FCGX_Request, all sharing one small PostgreSQL pool and a pool of
 * WeChat clients (made as calls need them, freed after WX_CLIENT_IDLE_MS
 * unused): a thread waiting on WeChat's round trip holds no other request
 * up.  The threads are made as the load needs them and end when it no
 * longer does (see "The threads" below).
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
#define THREADS_MIN	16		/* threads kept however idle the worker */
#define THREADS_SPARE	2		/* threads kept waiting to accept */
#define SURPLUS_MS	5000		/* window over which spare threads count */
#define BUSY_MAX	64		/* requests on our cores: no more accepted */

/* A thread's slot: its stack is the slot's, mapped once. */
enum slot { SLOT_FREE, SLOT_LIVE, SLOT_DEAD, SLOT_JOINING };

struct worker {
	pthread_t		 tid;
	FCGX_Request		 fr;
	enum slot		 state;		/* guarded by pool_mu */
	int			 spare;		/* counted in nspare */
	int			 retiring;	/* counted in nretiring */
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
 *   does this while it lives, and only below its own stack pointer, which
 *   nothing uses (reap_threads() empties the whole stack once it ended).
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
 * The threads.  A worker keeps THREADS_MIN of them (or WXAUTH_THREADS, if
 * fewer) and makes more as the load needs them, up to WXAUTH_THREADS: a
 * thread that accepts a connection starts another when it leaves fewer
 * than THREADS_SPARE waiting to accept (with nginx, threads holding a
 * kept connection wait on it, not to accept).  Threads end when they have
 * been more than the load needed: every SURPLUS_MS (5 s) the maintenance
 * thread takes the fewest threads that waited to accept at any moment of
 * that window, and as many as that was above THREADS_SPARE end (never
 * below THREADS_MIN), each as it next waits to accept or comes back to;
 * the maintenance thread joins them and gives their stacks' pages back.
 * (A thread's own idle time would not do: under load the threads take
 * turns to accept, so each serves now and then however many are too
 * many.)  So the threads in flight follow the load: WeChat's round trip
 * holds a thread for its length, and
 * at 50 ms a crowd of 256 logins needs 256 of them, where a worker at
 * rest costs only its THREADS_MIN threads' memory (about 13 KiB each),
 * and those holding a connection nginx keeps (until nginx closes it).
 * Should a thread not be made when one accepts (no slot free until the
 * next reap, or no memory), the maintenance thread makes it on its next
 * tick: with nginx, threads holding kept connections never come back to
 * accept, and without spare threads no new connection would be served.
 * Each slot maps its own stack once: all of its pages go back after the
 * join (glibc would keep an ended thread's stack in its cache, its top
 * pages and 16 KiB below the last frame still in use).
 *
 * A thread's spare and retiring flags are written under pool_mu, and read
 * unlocked only by the thread itself.
 */
static pthread_mutex_t	 pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 pool_cv = PTHREAD_COND_INITIALIZER;	/* nlive */
static struct worker	*ws;
static long		 nslots, nlive, nspare;	/* guarded by pool_mu */
static long		 nretiring;		/* live, deciding to end; pool_mu */
static long		 spare_low;		/* fewest spare this window; pool_mu */
static long		 nserving;		/* requests being served; atomic */
static long		 surplus;		/* yet to end; pool_mu */

static void	*worker_main(void *);

/* Map w's stack (once; a guard page below it).  0, or -1. */
static int
slot_stack(struct worker *w)
{
	size_t	 pg = (size_t)sysconf(_SC_PAGESIZE);
	char	*m;

	if (w->stack_lo != 0)
		return 0;
	m = mmap(NULL, THREAD_STACK + pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	if (mprotect(m, pg, PROT_NONE) == -1) {
		munmap(m, THREAD_STACK + pg);
		return -1;
	}
	w->stack_lo = (uintptr_t)m + pg;
	w->stack_hi = w->stack_lo + THREAD_STACK;
	return 0;
}

/*
 * Start a thread in a free slot, counted as spare from now (so that the
 * threads accepting a burst do not all start one).  0, or -1 when there is
 * no free slot (all in use, or ended ones not joined yet) or it cannot be
 * made.
 */
static int
spawn_thread(void)
{
	pthread_attr_t	 ta;
	struct worker	*w = NULL;
	long		 i;
	int		 rc = -1;

	pthread_mutex_lock(&pool_mu);
	for (i = 0; i < nslots && !stopping && nlive < nslots; i++)
		if (ws[i].state == SLOT_FREE) {
			w = &ws[i];
			break;
		}
	if (w == NULL) {
		pthread_mutex_unlock(&pool_mu);
		return -1;
	}
	w->state = SLOT_LIVE;
	w->spare = 1;
	w->used = w->idle = 0;
	nlive++;
	nspare++;
	pthread_mutex_unlock(&pool_mu);
	/* The slot is this caller's now (LIVE: nothing else touches it). */
	if (slot_stack(w) == 0 && FCGX_InitRequest(&w->fr, 0, 0) == 0 &&
	    pthread_attr_init(&ta) == 0) {
		if (pthread_attr_setstack(&ta, (void *)w->stack_lo,
		    THREAD_STACK) == 0 &&
		    pthread_create(&w->tid, &ta, worker_main, w) == 0)
			rc = 0;
		pthread_attr_destroy(&ta);
	}
	if (rc == -1) {
		pthread_mutex_lock(&pool_mu);
		w->state = SLOT_FREE;
		w->spare = 0;
		nlive--;
		nspare--;
		pthread_cond_signal(&pool_cv);
		pthread_mutex_unlock(&pool_mu);
	}
	return rc;
}

static long
live_threads(void)
{
	long	 n;

	pthread_mutex_lock(&pool_mu);
	n = nlive;
	pthread_mutex_unlock(&pool_mu);
	return n;
}

/* Whether to start a thread: too few spare, and room (pool_mu held). */
static int
need_spare(void)
{
	return nspare < THREADS_SPARE && nlive < nslots && !stopping;
}

/* Make threads until THREADS_SPARE wait to accept (the maintenance thread). */
static void
spare_up(void)
{
	int	 more;

	do {
		pthread_mutex_lock(&pool_mu);
		more = need_spare();
		pthread_mutex_unlock(&pool_mu);
	} while (more && spawn_thread() == 0);
}

/* w has accepted a connection: no longer spare; start one if too few are. */
static void
unspare(struct worker *w)
{
	int	 more;

	pthread_mutex_lock(&pool_mu);
	if (w->spare) {
		w->spare = 0;
		if (--nspare < spare_low)
			spare_low = nspare;
	}
	more = need_spare();
	pthread_mutex_unlock(&pool_mu);
	if (more)
		(void)spawn_thread();
}

/*
 * w waits to accept (again): it is spare, or it ends (1) when the last
 * window found threads to spare and enough others wait.
 */
static int
spare_or_end(struct worker *w)
{
	int	 end = 0;

	pthread_mutex_lock(&pool_mu);
	if (surplus > 0 && nlive - nretiring > THREADS_MIN &&
	    nspare - w->spare >= THREADS_SPARE) {
		surplus--;
		nspare -= w->spare;
		w->spare = 0;
		w->retiring = 1;
		nretiring++;
		end = 1;
	} else if (!w->spare) {
		w->spare = 1;
		nspare++;
	}
	pthread_mutex_unlock(&pool_mu);
	return end;
}

/* A window has passed: how many threads were more than it needed. */
static void
count_surplus(void)
{
	long	 n;

	pthread_mutex_lock(&pool_mu);
	n = spare_low - THREADS_SPARE;
	if (n > nlive - nretiring - THREADS_MIN)
		n = nlive - nretiring - THREADS_MIN;
	surplus = n > 0 ? n : 0;
	spare_low = nspare;
	pthread_mutex_unlock(&pool_mu);
}

/*
 * A POLL_MS wait to accept has passed with nothing to accept: give back
 * what the last busy spell left (release_thread), and say whether w
 * should end (1).
 */
static int
idle_wait(struct worker *w)
{
	release_thread(w);
	return spare_or_end(w);
}

/*
 * Join the threads that have ended and give their stacks' pages back
 * (the maintenance thread, every tick, and the last stop).
 */
static void
reap_threads(void)
{
	long	 i;

	for (i = 0; i < nslots; i++) {
		pthread_mutex_lock(&pool_mu);
		if (ws[i].state != SLOT_DEAD) {
			pthread_mutex_unlock(&pool_mu);
			continue;
		}
		ws[i].state = SLOT_JOINING;
		pthread_mutex_unlock(&pool_mu);
		pthread_join(ws[i].tid, NULL);
		(void)madvise((void *)ws[i].stack_lo, THREAD_STACK,
		    MADV_DONTNEED);
		pthread_mutex_lock(&pool_mu);
		ws[i].state = SLOT_FREE;
		pthread_mutex_unlock(&pool_mu);
	}
}

/*
 * Admission: a worker takes no new connection while BUSY_MAX of its
 * requests are in flight other than by waiting on WeChat (those are
 * waiting on the cores and the PostgreSQL pool).  The next ones wait in
 * the listening socket's backlog, first come, first served, at no cost,
 * where inside they would share the cores with the rest and all finish
 * late: measured, 256 clients at once on two cores with every request let
 * in, info cost 10-30 % more worker CPU with p99 125 against 90 ms, and
 * a login at 0 ms 25 us more with p99 350-590 against 140-170 ms.  A
 * login waiting out WeChat's round trip does not count, so the threads
 * still follow a slow WeChat (at 50 ms, 256 logins in flight need 256).
 * Requests on a connection nginx keeps are not held back (they do not go
 * through accept).
 */
static int
too_busy(void)
{
	long	 n = __atomic_load_n(&nserving, __ATOMIC_RELAXED);

	/* The WeChat pool's lock only when the count alone is over. */
	return n >= BUSY_MAX && n - (long)wx_pool_lent(app.wxp) >= BUSY_MAX;
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
 * begins).  1: accept or read; 0: stopping; -1: idle long enough to end
 * (the listening socket only).  No signal is ever used to
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
		if (fd != 0)
			release_thread(w);
		else if (idle_wait(w))
			return -1;
	}
	return 0;
}

/* A connection's next request; -EINTR: stopping; -ESRCH: end the thread. */
static int
accept_one(struct worker *w)
{
	struct timespec	 dl, gate_tick = { 0, 1000 * 1000 };
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
	if (spare_or_end(w))
		return -ESRCH;
	for (;;) {
		if (stopping)
			return -EINTR;
		clock_deadline(CLOCK_REALTIME, POLL_MS, &dl);
		if (pthread_mutex_timedlock(&accept_mu, &dl) == 0)
			break;
		if (idle_wait(w))
			return -ESRCH;
	}
	while (!stopping && too_busy())
		nanosleep(&gate_tick, NULL);
	/*
	 * Under load a connection is mostly waiting already: accept it at
	 * once (the socket is non-blocking), and wait only when there is none.
	 * Not once a stop has begun (it may have while this thread waited for
	 * the lock).
	 */
	rc = stopping ? -EINTR : FCGX_Accept_r(&w->fr);
	if (rc == -EAGAIN || rc == -EWOULDBLOCK) {
		switch (wait_readable(0, w)) {
		case 1:
			rc = FCGX_Accept_r(&w->fr);
			break;
		case 0:
			rc = -EINTR;
			break;
		default:
			rc = -ESRCH;
			break;
		}
	}
	pthread_mutex_unlock(&accept_mu);
	if (rc >= 0)
		unspare(w);
	return rc;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct timespec	 pause = { 0, 100 * 1000 * 1000 };
	int		 rc;

	while (!stopping) {
		rc = accept_one(w);
		if (rc < 0) {
			if (stopping || rc == -ESRCH)
				break;
			/* Another worker took it: the socket is non-blocking. */
			if (rc == -EAGAIN || rc == -EWOULDBLOCK)
				continue;
			/* EMFILE, ENOBUFS...: the thread must not die quietly. */
			log_msg(LOG_WARN, NULL, "accept failed (%d); retrying", rc);
			nanosleep(&pause, NULL);
			continue;
		}
		__atomic_add_fetch(&nserving, 1, __ATOMIC_RELAXED);
		serve_request(&app, &w->fr);
		FCGX_Finish_r(&w->fr);
		__atomic_sub_fetch(&nserving, 1, __ATOMIC_RELAXED);
		w->used = 1;
		w->idle = 0;
		count_served();
	}
	FCGX_Finish_r(&w->fr);
	pthread_mutex_lock(&pool_mu);
	if (w->spare)
		nspare--;
	if (w->retiring)
		nretiring--;
	w->spare = w->retiring = 0;
	w->state = SLOT_DEAD;
	nlive--;
	pthread_cond_signal(&pool_cv);
	pthread_mutex_unlock(&pool_mu);
	return NULL;
}

/*
 * Stop accepting, let requests in flight finish, then the maintenance
 * thread, and join the threads.
 */
static void
stop_workers(pthread_t maint)
{
	struct timespec	 dl;
	long		 left;

	stopping = 1;
	FCGX_ShutdownPending();
	clock_deadline(CLOCK_REALTIME, STOP_GRACE_S * 1000, &dl);
	pthread_mutex_lock(&pool_mu);
	while (nlive > 0)
		if (pthread_cond_timedwait(&pool_cv, &pool_mu, &dl) ==
		    ETIMEDOUT && nlive > 0) {
			left = nlive - nspare;
			pthread_mutex_unlock(&pool_mu);
			log_msg(LOG_WARN, NULL, "stop: %ld requests still "
			    "running after %d s, exiting", left, STOP_GRACE_S);
			_exit(0);
		}
	pthread_mutex_unlock(&pool_mu);
	pthread_join(maint, NULL);
	reap_threads();
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
	long			 wait = 0, n, since_trim = 0, since_surplus = 0;
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
		reap_threads();
		spare_up();
		if ((since_surplus += 200) >= SURPLUS_MS) {
			since_surplus = 0;
			count_surplus();
		}
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
	nslots = cfg.threads;
	/*
	 * The first threads may start others as they accept (unspare()), so
	 * count the threads, not the calls: a call finding no slot left is
	 * fine when those others took it.
	 */
	i = cfg.threads < THREADS_MIN ? cfg.threads : THREADS_MIN;
	while (live_threads() < i)
		if (spawn_thread() == -1 && live_threads() < i) {
			log_msg(LOG_ERROR, NULL, "cannot start the worker's "
			    "threads");
			return 1;
		}
	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, THREAD_STACK);
	if (pthread_create(&maint, &ta, maint_main, &cfg) != 0) {
		log_msg(LOG_ERROR, NULL, "cannot start the maintenance thread");
		return 1;
	}
	pthread_attr_destroy(&ta);
	log_msg(LOG_INFO, NULL, "worker ready: %ld threads (up to %ld), %ld "
	    "database connections, WeChat at %s%s; idle threads %s", i,
	    cfg.threads, cfg.db_pool, cfg.wx_api_base,
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
	stop_workers(maint);
	app_flush_counts(&app);		/* what was counted ahead */
	free(ws);
	app_close(&app);
	curl_global_cleanup();
	config_free(&cfg);
	log_msg(LOG_INFO, NULL, "worker stopped");
	return 0;
}
