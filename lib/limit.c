/*
 * limit.c -- rate-limit keys, the client address and the counting ahead of
 * the database (see limit.h); the database's counting is db_limit_*() in
 * db.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "limit.h"

static const struct {
	const char	*prefix;
	long		 window;
} kinds[LIMIT__MAX] = {
	[LIMIT_LOGIN_IP] = { "login_ip", 60 },
	[LIMIT_LOGIN_USER] = { "login_user", 60 },
	[LIMIT_PHONE_USER] = { "phone_user", 86400 },
	[LIMIT_DECRYPT_FAIL] = { "decrypt_fail", 60 },
};

long
limit_window(enum limit_kind k)
{
	return kinds[k].window;
}

int
limit_key(enum limit_kind k, const char *subject, char key[LIMIT_KEY_MAX])
{
	int	 n = snprintf(key, LIMIT_KEY_MAX, "%s:%s", kinds[k].prefix,
	    subject);

	return n > 0 && n < LIMIT_KEY_MAX ? 0 : -1;
}

/* Is [s, s+n) a plain IPv4 or IPv6 address's characters? */
static int
addr_chars(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n >= CLIENT_ADDR_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F') ||
		    s[i] == '.' || s[i] == ':'))
			return 0;
	return 1;
}

/* Is the n-byte address a member of the comma-separated list? */
static int
in_list(const char *list, const char *a, size_t n)
{
	const char	*p, *e;
	size_t		 l;

	for (p = list; p != NULL && *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		while (p < e && *p == ' ')
			p++;
		l = (size_t)(e - p);
		while (l > 0 && p[l - 1] == ' ')
			l--;
		if (l == n && memcmp(p, a, n) == 0)
			return 1;
	}
	return 0;
}

static void
copy(char out[CLIENT_ADDR_MAX], const char *s, size_t n)
{
	memcpy(out, s, n);
	out[n] = '\0';
}

#define XFF_HOPS_MAX	32	/* hops of X-Forwarded-For looked at */

void
limit_client_addr(const char *remote, const char *xff, const char *trusted,
    char out[CLIENT_ADDR_MAX])
{
	const char	*hop[XFF_HOPS_MAX], *p, *e;
	size_t		 len[XFF_HOPS_MAX];
	int		 n = 0, i;

	if (remote == NULL || !addr_chars(remote, strlen(remote))) {
		copy(out, "-", 1);
		return;
	}
	copy(out, remote, strlen(remote));
	if (xff == NULL || trusted == NULL || *trusted == '\0' ||
	    !in_list(trusted, remote, strlen(remote)))
		return;
	/* The hops, left to right; only the last XFF_HOPS_MAX are kept. */
	for (p = xff; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (n == XFF_HOPS_MAX) {
			memmove(hop, hop + 1, sizeof(hop[0]) * (XFF_HOPS_MAX - 1));
			memmove(len, len + 1, sizeof(len[0]) * (XFF_HOPS_MAX - 1));
			n--;
		}
		hop[n] = p;
		len[n] = (size_t)(e - p);
		while (len[n] > 0 && (*hop[n] == ' ' || *hop[n] == '\t')) {
			hop[n]++;
			len[n]--;
		}
		while (len[n] > 0 && (hop[n][len[n] - 1] == ' ' ||
		    hop[n][len[n] - 1] == '\t'))
			len[n]--;
		n++;
	}
	/* From the right: past our own proxies, to the first one we did not add. */
	for (i = n - 1; i >= 0; i--) {
		if (!addr_chars(hop[i], len[i]))
			return;		/* garbage: keep the last good hop */
		copy(out, hop[i], len[i]);
		if (!in_list(trusted, hop[i], len[i]))
			return;
	}
}

/* ---- counting ahead of the database -------------------------------------- */

void
limit_ahead_init(struct limit_ahead *a)
{
	pthread_condattr_t	 ca;

	memset(a->slot, 0, sizeof(a->slot));
	a->wait_ms = LIMIT_AHEAD_WAIT_MS;
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cv, &ca);
	pthread_condattr_destroy(&ca);
}

void
limit_ahead_free(struct limit_ahead *a)
{
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
}

/* FNV-1a: where a key's probe run starts. */
static size_t
ahead_home(const char *key)
{
	uint32_t	 h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % LIMIT_AHEAD_SLOTS;
}

static void
ahead_reset(struct limit_ahead_slot *s, long window, long wid)
{
	s->window = window;
	s->wid = wid;
	s->known = s->pending = s->inflight = s->ahead = 0;
	s->learned = 0;
}

/*
 * The slot of key, or NULL.  With claim, a slot is taken for a key that has
 * none, within the key's probe run: a free one, or one whose window has
 * ended, or else one with nothing waiting or on its way (the least
 * counted).  A claimed slot knows nothing: its key's next hit goes to the
 * database.
 */
static struct limit_ahead_slot *
ahead_slot(struct limit_ahead *a, const char *key, long window, time_t now,
    int claim)
{
	struct limit_ahead_slot	*s, *pick = NULL;
	size_t			 h = ahead_home(key), i, n = strlen(key);
	int			 rank, best = 0;

	for (i = 0; i < LIMIT_AHEAD_PROBE; i++) {
		s = &a->slot[(h + i) % LIMIT_AHEAD_SLOTS];
		if (s->key[0] != '\0' && strcmp(s->key, key) == 0)
			return s;
		if (!claim)
			continue;
		if (s->key[0] == '\0' || s->wid != (long)(now / s->window))
			rank = 3;
		else if (s->pending == 0 && s->inflight == 0)
			rank = 2;
		else
			rank = 0;
		if (rank > best || (rank == 2 && best == 2 &&
		    s->known < pick->known)) {
			best = rank;
			pick = s;
		}
	}
	if (pick == NULL || n >= sizeof(pick->key))
		return NULL;
	memcpy(pick->key, key, n + 1);
	ahead_reset(pick, window, (long)(now / window));
	return pick;
}

int
limit_ahead_take(struct limit_ahead *a, const char *key, long limit,
    long window, time_t now, long *add)
{
	struct limit_ahead_slot	*s;
	struct timespec		 until;
	long			 batch = limit / LIMIT_AHEAD_DIV;
	long			 wid = (long)(now / window);
	int			 waited = 0, timedout = 0;

	*add = 1;
	if (batch > LIMIT_AHEAD_BATCH)
		batch = LIMIT_AHEAD_BATCH;
	if (batch < 1)
		return 0;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		/*
		 * Looked up again after a wait, without claiming: the slot may
		 * have gone to another key, or on to a newer window than this
		 * hit's (a newer one is never reset back to it).  Either way
		 * the hit goes to the database, and touches nothing here.
		 */
		if ((s = ahead_slot(a, key, window, now, !waited)) == NULL ||
		    (s->window == window && s->wid > wid)) {
			pthread_mutex_unlock(&a->mu);
			return 0;
		}
		if (s->wid != wid || s->window != window)
			ahead_reset(s, window, wid);
		if (timedout || (!s->learned && s->inflight == 0) ||
		    s->known + s->inflight + s->pending + 1 > limit - batch)
			break;			/* to the database, exactly */
		if (s->learned && s->pending + s->ahead < batch) {
			if (s->pending >= (batch + 1) / 2)
				break;		/* carry the half batch */
			s->pending++;
			pthread_mutex_unlock(&a->mu);
			return 1;
		}
		/*
		 * A batch admitted here is on its way, or the window's first
		 * hit is learning the total: wait for it (only for an add that
		 * is out, which its learn will announce).  A full batch with
		 * none out (a batch of 1) is carried at once.
		 */
		if (a->wait_ms <= 0 || (s->learned ? s->ahead : s->inflight) == 0)
			break;
		if (!waited) {
			clock_deadline(CLOCK_MONOTONIC, a->wait_ms, &until);
			waited = 1;
		}
		if (pthread_cond_timedwait(&a->cv, &a->mu, &until) ==
		    ETIMEDOUT)
			timedout = 1;
	}
	*add = s->pending + 1;
	s->inflight += *add;
	s->ahead += s->pending;
	s->pending = 0;
	pthread_mutex_unlock(&a->mu);
	return 0;
}

void
limit_ahead_learn(struct limit_ahead *a, const char *key, long window,
    time_t now, long added, int own, long total)
{
	struct limit_ahead_slot	*s;
	long			 here = added - (own ? 1 : 0);

	pthread_mutex_lock(&a->mu);
	if ((s = ahead_slot(a, key, window, now, 0)) != NULL &&
	    s->window == window && s->wid == (long)(now / window)) {
		s->inflight -= added < s->inflight ? added : s->inflight;
		s->ahead -= here < s->ahead ? here : s->ahead;
		if (total >= 0) {
			if (total > s->known)
				s->known = total;
			s->learned = 1;
		} else
			s->learned = 0;	/* dropped: admit no more on what it knew */
	}
	pthread_cond_broadcast(&a->cv);	/* those waiting for an add */
	pthread_mutex_unlock(&a->mu);
}

int
limit_ahead_drain(struct limit_ahead *a, size_t *pos, time_t now,
    char key[LIMIT_KEY_MAX], long *window, long *add)
{
	struct limit_ahead_slot	*s;

	pthread_mutex_lock(&a->mu);
	for (; *pos < LIMIT_AHEAD_SLOTS; (*pos)++) {
		s = &a->slot[*pos];
		if (s->key[0] == '\0' || s->pending == 0)
			continue;
		if (s->wid < (long)(now / s->window)) {
			s->pending = 0;		/* its window has ended */
			continue;
		}
		if (s->wid > (long)(now / s->window))
			continue;		/* newer than this flush's now */
		memcpy(key, s->key, strlen(s->key) + 1);
		*window = s->window;
		*add = s->pending;
		s->inflight += s->pending;
		s->ahead += s->pending;
		s->pending = 0;
		(*pos)++;
		pthread_mutex_unlock(&a->mu);
		return 1;
	}
	pthread_mutex_unlock(&a->mu);
	return 0;
}
