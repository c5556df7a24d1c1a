/*
 * fcgi_model.h -- what the two FastCGI fuzz targets share: the record
 * types, builders of records and name-value pairs, the well-formed
 * GET /healthz every input is followed by and the check of its answer, the
 * check of any answer (whole version-1 records) that also gives libFuzzer
 * something to branch on, the model of libfcgi's known length overflow,
 * and a FastCGI-aware mutator.
 *
 *	fuzz_fcgi.c	libfcgi and the worker's request path in the
 *			fuzzer's own process, over a socketpair (fast: the
 *			10-million-execution runs)
 *	fuzz_worker.c	the real worker program under spawn-fcgi, over its
 *			unix socket (slow: the corpus replayed against it)
 */
#ifndef WXAUTH_FCGI_MODEL_H
#define WXAUTH_FCGI_MODEL_H

#include <stdarg.h>

#include "fuzz.h"

/* Each target uses a part of this. */
#pragma GCC diagnostic ignored "-Wunused-function"

enum {
	T_BEGIN = 1, T_ABORT, T_END, T_PARAMS, T_STDIN, T_STDOUT, T_STDERR,
	T_DATA, T_GET_VALUES, T_GET_VALUES_RESULT, T_UNKNOWN
};

static char	 why[512];		/* what went wrong, for FAIL */

/* Note what went wrong; the caller returns the -1. */
static int
bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
bad(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return -1;
}

/* Append one record (content then zero padding) to b at *len. */
static size_t
record(uint8_t *b, size_t len, int type, int id, const void *c, size_t cl)
{
	b[len++] = 1;
	b[len++] = (uint8_t)type;
	b[len++] = (uint8_t)(id >> 8);
	b[len++] = (uint8_t)id;
	b[len++] = (uint8_t)(cl >> 8);
	b[len++] = (uint8_t)cl;
	b[len++] = 0;
	b[len++] = 0;
	if (cl > 0)
		memcpy(b + len, c, cl);
	return len + cl;
}

static size_t
pair(uint8_t *b, size_t len, const char *name, const char *val)
{
	size_t	 nl = strlen(name), vl = strlen(val);

	b[len++] = (uint8_t)nl;
	b[len++] = (uint8_t)vl;
	memcpy(b + len, name, nl);
	memcpy(b + len + nl, val, vl);
	return len + nl + vl;
}

/* The well-formed request every input is followed by, into req (1 KiB). */
static size_t
health_request(uint8_t req[1024])
{
	static const uint8_t	 begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	uint8_t			 params[512];
	size_t			 len = 0, pl = 0;

	pl = pair(params, pl, "REQUEST_METHOD", "GET");
	pl = pair(params, pl, "REQUEST_URI", "/healthz");
	pl = pair(params, pl, "SCRIPT_NAME", "/healthz");
	pl = pair(params, pl, "QUERY_STRING", "");
	pl = pair(params, pl, "SERVER_PROTOCOL", "HTTP/1.1");
	pl = pair(params, pl, "REMOTE_ADDR", "127.0.0.1");
	pl = pair(params, pl, "HTTP_X_REQUEST_ID", "fuzz-health");
	len = record(req, len, T_BEGIN, 1, begin, sizeof(begin));
	len = record(req, len, T_PARAMS, 1, params, pl);
	len = record(req, len, T_PARAMS, 1, NULL, 0);
	len = record(req, len, T_STDIN, 1, NULL, 0);
	return len;
}

/*
 * Is out the complete answer to health_request(): records of request 1, a
 * Status of 200 or 503 (no database), our request id, a JSON envelope, one
 * END_REQUEST with FCGI_REQUEST_COMPLETE?  0, or -1 and why.
 */
static int
health_check(const uint8_t *out, size_t outlen, const char *when)
{
	const uint8_t	*c;
	const char	*hdr_end;
	size_t		 off, cl, stdout_len = 0;
	uint8_t		*so;
	int		 ended = 0, rc = -1;

	if ((so = malloc(outlen + 1)) == NULL)
		abort();
	for (off = 0; off + 8 <= outlen; off += 8 + cl + out[off + 6]) {
		c = out + off;
		cl = (size_t)c[4] << 8 | c[5];
		if (c[0] != 1 || ((c[2] << 8) | c[3]) != 1 ||
		    off + 8 + cl + c[6] > outlen) {
			bad("%s: GET /healthz: a malformed record", when);
			goto fail;
		}
		if (c[1] == T_STDOUT) {
			memcpy(so + stdout_len, c + 8, cl);
			stdout_len += cl;
		} else if (c[1] == T_END) {
			if (cl != 8 || c[8 + 4] != 0 || ended) {
				bad("%s: GET /healthz: a bad END_REQUEST",
				    when);
				goto fail;
			}
			ended = 1;
		} else if (c[1] != T_STDERR) {
			bad("%s: GET /healthz: a record of type %d", when,
			    c[1]);
			goto fail;
		}
	}
	so[stdout_len] = '\0';
	if (off != outlen || !ended)
		bad("%s: GET /healthz: %zu bytes, not ending in END_REQUEST",
		    when, outlen);
	else if (strncmp((char *)so, "Status: 200 ", 12) != 0 &&
	    strncmp((char *)so, "Status: 503 ", 12) != 0)
		bad("%s: GET /healthz: not status 200 or 503: %.40s", when,
		    (char *)so);
	else if (strstr((char *)so, "\r\nX-Request-Id: fuzz-health\r\n") ==
	    NULL || (hdr_end = strstr((char *)so, "\r\n\r\n")) == NULL ||
	    hdr_end[4] != '{' || so[stdout_len - 1] != '}')
		bad("%s: GET /healthz: a malformed response", when);
	else
		rc = 0;
fail:
	free(so);
	return rc;
}

/*
 * Branch on what the worker answered, so that libFuzzer keeps inputs that
 * draw new kinds of answers.  Also checks the answer is whole records.
 */
static int
feedback(const uint8_t *o, size_t n)
{
	size_t		 off, cl, ends = 0;
	volatile int	 sink = 0;

	for (off = 0; off + 8 <= n; off += 8 + cl + o[off + 6]) {
		cl = (size_t)o[off + 4] << 8 | o[off + 5];
		if (o[off] != 1 || off + 8 + cl + o[off + 6] > n)
			return bad("the worker wrote a malformed record at "
			    "byte %zu of %zu", off, n);
		switch (o[off + 1]) {
		case T_STDOUT:
			if (cl >= 11 && memcmp(o + off + 8, "Status: ", 8) == 0)
				switch ((o[off + 16] - '0') * 100 +
				    (o[off + 17] - '0') * 10 +
				    (o[off + 18] - '0')) {
				case 200: sink += 1; break;
				case 400: sink += 2; break;
				case 401: sink += 3; break;
				case 403: sink += 4; break;
				case 404: sink += 5; break;
				case 405: sink += 6; break;
				case 413: sink += 7; break;
				case 429: sink += 8; break;
				case 500: sink += 9; break;
				case 502: sink += 10; break;
				case 503: sink += 11; break;
				case 504: sink += 12; break;
				default: sink += 13; break;
				}
			break;
		case T_END:
			ends++;
			if (cl >= 8)
				switch (o[off + 8 + 4]) {
				case 0: sink += 20; break;
				case 1: sink += 21; break;
				case 2: sink += 22; break;
				case 3: sink += 23; break;
				default: sink += 24; break;
				}
			break;
		case T_STDERR: sink += 30; break;
		case T_GET_VALUES_RESULT: sink += 31; break;
		case T_UNKNOWN: sink += 32; break;
		default:
			return bad("the worker wrote a record of type %d",
			    o[off + 1]);
		}
	}
	if (off != n)
		return bad("the worker's answer ends inside a record (%zu of "
		    "%zu bytes)", off, n);
	switch (ends) {
	case 0: sink += 40; break;
	case 1: sink += 41; break;
	case 2: sink += 42; break;
	default: sink += 43; break;
	}
	(void)sink;
	return 0;
}

/* A name-value length at s (n bytes left): its size, or 0 if cut short. */
static size_t
nvlen(const uint8_t *s, size_t n, uint32_t *v)
{
	if (n < 1)
		return 0;
	if (!(s[0] & 0x80)) {
		*v = s[0];
		return 1;
	}
	if (n < 4)
		return 0;
	*v = (uint32_t)(s[0] & 0x7f) << 24 | (uint32_t)s[1] << 16 |
	    (uint32_t)s[2] << 8 | s[3];
	return 4;
}

/*
 * Does this name-value stream hold a pair whose two lengths plus 2 (what
 * libfcgi mallocs) exceed limit?  With limit INT_MAX: overflow an int.
 */
static int
nv_exceeds(const uint8_t *s, size_t n, uint64_t limit)
{
	uint32_t	 a, b;
	size_t		 k, off = 0;

	while (off < n) {
		if ((k = nvlen(s + off, n - off, &a)) == 0)
			return 0;
		off += k;
		if ((k = nvlen(s + off, n - off, &b)) == 0)
			return 0;
		off += k;
		if ((uint64_t)a + b + 2 > limit)
			return 1;
		if ((uint64_t)a + b >= n - off)
			return 0;
		off += a + b;
	}
	return 0;
}

/*
 * Would libfcgi malloc over limit bytes for a name-value pair of this
 * input (with INT_MAX: the known overflow, which aborts it)?
 * A model only, on the side of caution: records may start where a header
 * with its padding ends or where it would end without the padding (libfcgi
 * does not skip a BEGIN_REQUEST's); GET_VALUES records are read one by one;
 * PARAMS are read as one stream per request id, and also as one stream
 * with the content of management records (request id 0), which libfcgi
 * reads into the parameters when they come between PARAMS.  An input it
 * misses is still caught by the target (fuzz_worker's after_death(),
 * fuzz_fcgi's __assert_fail()).
 */
static int
nv_model(const uint8_t *d, size_t n, uint64_t limit)
{
	static uint8_t	 reach[16384 + 8], st[16384];
	size_t		 off, cl, end, sl, id;
	int		 ids[4] = { -1, -1, -1, -1 }, i, k;

	if (n > sizeof(st))
		return 0;
	memset(reach, 0, n + 1);
	reach[0] = 1;
	for (off = 0; off + 8 <= n; off++) {
		if (!reach[off])
			continue;
		cl = (size_t)d[off + 4] << 8 | d[off + 5];
		if (cl > n - off - 8)
			cl = n - off - 8;
		if (off + 8 + cl < n)
			reach[off + 8 + cl] = 1;
		if ((end = off + 8 + cl + d[off + 6]) < n)
			reach[end] = 1;
		if (d[off] == 1 && d[off + 1] == T_GET_VALUES &&
		    nv_exceeds(d + off + 8, cl, limit))
			return 1;
		if (d[off] == 1 && d[off + 1] == T_PARAMS) {
			id = (size_t)d[off + 2] << 8 | d[off + 3];
			for (i = 0; i < 4; i++) {
				if (ids[i] == -1)
					ids[i] = (int)id;
				if (ids[i] == (int)id)
					break;
			}
		}
	}
	/* ids[k] for k < 4: that id's PARAMS; k == 4: all PARAMS and id 0. */
	for (k = 0; k < 5; k++) {
		if (k < 4 && ids[k] == -1)
			continue;
		sl = 0;
		for (off = 0; off + 8 <= n; off++) {
			id = (size_t)d[off + 2] << 8 | d[off + 3];
			if (!reach[off] || d[off] != 1 || (k < 4 &&
			    (d[off + 1] != T_PARAMS || id != (size_t)ids[k])) ||
			    (k == 4 && d[off + 1] != T_PARAMS && id != 0))
				continue;
			cl = (size_t)d[off + 4] << 8 | d[off + 5];
			if (cl > n - off - 8)
				cl = n - off - 8;
			/* Records read both ways may overlap: st may fill. */
			if (cl > sizeof(st) - sl)
				cl = sizeof(st) - sl;
			memcpy(st + sl, d + off + 8, cl);
			sl += cl;
		}
		if (nv_exceeds(st, sl, limit))
			return 1;
	}
	return 0;
}

/* Would this input make libfcgi abort (the known overflow)? */
static int
known_overflow(const uint8_t *d, size_t n)
{
	return nv_model(d, n, 0x7fffffff);
}

/* ---- a FastCGI-aware mutator ---- */

static uint32_t	 rs;

static uint32_t
rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 17;
	rs ^= rs << 5;
	return rs;
}

#define MAXREC	64

/* Offsets of the whole records of d; returns how many. */
static size_t
records(const uint8_t *d, size_t n, size_t off[MAXREC], size_t len[MAXREC])
{
	size_t	 k = 0, o = 0, l;

	while (k < MAXREC && o + 8 <= n) {
		l = 8 + ((size_t)d[o + 4] << 8 | d[o + 5]) + d[o + 6];
		if (o + l > n)
			break;
		off[k] = o;
		len[k++] = l;
		o += l;
	}
	return k;
}

/* Insert m bytes at position at of d (size *n, room max).  0 or -1. */
static int
insert(uint8_t *d, size_t *n, size_t max, size_t at, const uint8_t *m,
    size_t ml)
{
	if (*n + ml > max)
		return -1;
	memmove(d + at + ml, d + at, *n - at);
	memcpy(d + at, m, ml);
	*n += ml;
	return 0;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *d, size_t n, size_t max, unsigned int seed)
{
	static const uint16_t	 lens[] = { 0, 1, 7, 8, 0x7fff, 0x8000, 0xffff };
	size_t			 off[MAXREC], len[MAXREC], k, r, i, at;
	uint8_t			 tmp[4096], *c;
	uint16_t		 v;

	rs = seed ? seed : 1;
	k = records(d, n, off, len);
	if (k == 0 || rnd() % 3 == 0)
		return LLVMFuzzerMutate(d, n, max);
	r = rnd() % k;
	c = d + off[r];
	switch (rnd() % 10) {
	case 0:		/* version */
		c[0] = (uint8_t)(rnd() % 3 == 0 ? rnd() : rnd() % 3);
		break;
	case 1:		/* type, management or unknown ones too */
		c[1] = (uint8_t)(rnd() % 4 == 0 ? rnd() : 1 + rnd() % 11);
		break;
	case 2:		/* request id: 0 (management), another, any */
		v = (uint16_t)(rnd() % 3 == 0 ? rnd() : rnd() % 3);
		c[2] = (uint8_t)(v >> 8);
		c[3] = (uint8_t)v;
		break;
	case 3:		/* content length: off by one, zero, oversized */
		v = (uint16_t)((c[4] << 8 | c[5]) + (rnd() % 3) - 1);
		if (rnd() % 2)
			v = lens[rnd() % (sizeof(lens) / sizeof(lens[0]))];
		c[4] = (uint8_t)(v >> 8);
		c[5] = (uint8_t)v;
		break;
	case 4:		/* padding */
		c[6] = (uint8_t)(rnd() % 2 ? rnd() % 8 : rnd());
		break;
	case 5:		/* truncate inside the stream */
		return n > 1 ? 1 + rnd() % (n - 1) : n;
	case 6:		/* duplicate a record */
		if (len[r] <= sizeof(tmp)) {
			memcpy(tmp, c, len[r]);
			insert(d, &n, max, off[r] + len[r], tmp, len[r]);
		}
		break;
	case 7:		/* drop a record */
		memmove(c, c + len[r], n - off[r] - len[r]);
		n -= len[r];
		break;
	case 8:		/* a new record somewhere: begin, abort, values */
		at = off[rnd() % k];
		i = 0;
		tmp[i++] = 1;
		switch (rnd() % 4) {
		case 0:
			tmp[i++] = T_BEGIN;
			tmp[i++] = 0;
			tmp[i++] = (uint8_t)(1 + rnd() % 3);
			tmp[i++] = 0; tmp[i++] = 8; tmp[i++] = 0; tmp[i++] = 0;
			tmp[i++] = 0; tmp[i++] = (uint8_t)(1 + rnd() % 3);
			tmp[i++] = (uint8_t)(rnd() % 2);
			memset(tmp + i, 0, 5);
			i += 5;
			break;
		case 1:
			tmp[i++] = T_ABORT;
			tmp[i++] = 0; tmp[i++] = (uint8_t)(1 + rnd() % 2);
			memset(tmp + i, 0, 4);
			i += 4;
			break;
		case 2:
			tmp[i++] = T_GET_VALUES;
			tmp[i++] = 0; tmp[i++] = 0;
			tmp[i++] = 0; tmp[i++] = 32; tmp[i++] = 0; tmp[i++] = 0;
			memcpy(tmp + i, "\x0e\x00" "FCGI_MAX_CONNS"
			    "\x0e\x00" "FCGI_MPXS_CONNS", 32);
			i += 32;
			break;
		default:
			tmp[i++] = (uint8_t)(1 + rnd() % 11);
			tmp[i++] = 0; tmp[i++] = (uint8_t)(rnd() % 3);
			v = (uint16_t)(rnd() % 64);
			tmp[i++] = 0; tmp[i++] = (uint8_t)v;
			tmp[i++] = 0; tmp[i++] = 0;
			memset(tmp + i, 'A' + (int)(rnd() % 26), v);
			i += v;
			break;
		}
		insert(d, &n, max, at, tmp, i);
		break;
	default:	/* a name-value length in PARAMS: long form, huge */
		if (c[1] == T_PARAMS && len[r] > 8 + 2) {
			at = off[r] + 8 + rnd() % (len[r] - 8 - 1);
			if (rnd() % 2)
				d[at] = (uint8_t)(0x80 | rnd());
			else if (at + 4 <= n)	/* past the content, not 2^31 */
				memcpy(d + at, rnd() % 2 ? "\x80\x00\xff\xff" :
				    "\x80\x01\x00\x00", 4);
		} else
			return LLVMFuzzerMutate(d, n, max);
		break;
	}
	return n;
}

#endif
