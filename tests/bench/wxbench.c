/*
 * wxbench.c -- the fake WeChat server of `make bench`: the three WeChat
 * calls a benchmark makes (jscode2session, stable_token,
 * getuserphonenumber), over HTTPS, fast enough that a local upstream does
 * not take the CPU the stack under test needs.  tests/fakewx/fakewx.py is
 * the fake of the tests; at a thousand logins a second its Python, TLS and
 * logging would cost more CPU than wxauth's whole login.
 *
 *	wxbench PORTFILE CERT KEY APPID SECRET
 *
 * Listens on 127.0.0.1 (a free port, written to PORTFILE), one thread per
 * connection, keep-alive, TLS by mbedTLS with the test CA's server
 * certificate (tests/fakewx/mkcerts.sh) and a session cache (a client may
 * resume its session, as WeChat's servers let it).  It behaves as WeChat
 * does for those calls: JSON replies sent as text/plain, errcodes for a
 * wrong appid (40013), secret (40125; 40001 for stable_token), grant_type
 * (40002), a missing code (41008), an unknown code (40029), a used one
 * (40163), a bad access_token (40001); every code is single-use.  Codes
 * are minted on arrival when they start with "bench-" (the benchmark
 * cannot ask for one per request): a login code's last "-"-separated part
 * names the user, whose session_key is the base64 of the first 16 bytes of
 * SHA-256("wxbench " + openid), so that the benchmark can encrypt user info
 * for it.  Control, as fakewx.py's /_fake/config:
 *	GET /_fake/config?latency_ms=N&fail_all=E	(fail_all=0 clears)
 * latency_ms delays every WeChat reply; fail_all makes every WeChat call
 * answer that errcode.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#define REQ_MAX		(64 * 1024)	/* request head + body */
#define USED_SLOTS	(1u << 22)	/* single-use codes remembered */
#define TOKEN		"wxbench_access_token_0123456789abcdefghijklmnopqrstuv"

static const char	*appid, *secret;
static mbedtls_x509_crt	 crt;
static mbedtls_pk_context pk;
/*
 * One TLS configuration for all connections, with one random generator
 * (mbedTLS locks it) and a session cache: a client that comes back with a
 * session it had resumes it, as it can with WeChat's servers.
 */
static mbedtls_entropy_context	 ent;
static mbedtls_ctr_drbg_context	 drbg;
static mbedtls_ssl_cache_context cache;
static mbedtls_ssl_config	 conf;
static volatile long	 latency_ms, fail_all;

/* Codes seen: FNV-1a hashes, open addressing; full means forgetful. */
static uint64_t		*used;
static pthread_mutex_t	 used_mu = PTHREAD_MUTEX_INITIALIZER;

/* 1 if code was new (and is now used), 0 if it was used before. */
static int
use_code(const char *code)
{
	uint64_t	 h = 1469598103934665603ULL;
	size_t		 i, k;
	int		 fresh = 1;

	for (; *code != '\0'; code++)
		h = (h ^ (unsigned char)*code) * 1099511628211ULL;
	h |= 1;		/* 0 marks an empty slot */
	pthread_mutex_lock(&used_mu);
	for (i = h & (USED_SLOTS - 1), k = 0; k < 64; i = (i + 1) &
	    (USED_SLOTS - 1), k++) {
		if (used[i] == h) {
			fresh = 0;
			break;
		}
		if (used[i] == 0) {
			used[i] = h;
			break;
		}
	}
	pthread_mutex_unlock(&used_mu);
	return fresh;
}

/* The value of name in a query string, %-decoded, or NULL. */
static char *
qget(const char *q, const char *name, char *out, size_t outsz)
{
	size_t		 nl = strlen(name), n = 0;
	const char	*p = q;
	unsigned	 c;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			for (p += nl + 1; *p != '\0' && *p != '&' &&
			    n + 1 < outsz; p++) {
				if (*p == '%' && sscanf(p + 1, "%2x", &c) == 1) {
					out[n++] = (char)c;
					p += 2;
				} else
					out[n++] = *p == '+' ? ' ' : *p;
			}
			out[n] = '\0';
			return out;
		}
		if ((p = strchr(p, '&')) != NULL)
			p++;
	}
	return NULL;
}

static void
errjson(char *out, size_t outsz, long code)
{
	snprintf(out, outsz, "{\"errcode\":%ld,\"errmsg\":\"wxbench error\"}",
	    code);
}

static void
session_key(const char *openid, char out[25])
{
	uint8_t	 h[32];
	char	 in[128];
	size_t	 olen;

	snprintf(in, sizeof(in), "wxbench %s", openid);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	mbedtls_sha256((const uint8_t *)in, strlen(in), h, 0);
#else
	mbedtls_sha256_ret((const uint8_t *)in, strlen(in), h, 0);
#endif
	mbedtls_base64_encode((unsigned char *)out, 25, &olen, h, 16);
	out[olen] = '\0';
}

static void
jscode2session(const char *q, char *out, size_t outsz)
{
	char		 a[128], s[128], code[256], g[64], openid[40];
	const char	*user;
	char		 sk[25];
	uint8_t		 h[32];
	int		 i;

	if (qget(q, "appid", a, sizeof(a)) == NULL || strcmp(a, appid) != 0) {
		errjson(out, outsz, 40013);
		return;
	}
	if (qget(q, "secret", s, sizeof(s)) == NULL || strcmp(s, secret) != 0) {
		errjson(out, outsz, 40125);
		return;
	}
	if (qget(q, "grant_type", g, sizeof(g)) == NULL ||
	    strcmp(g, "authorization_code") != 0) {
		errjson(out, outsz, 40002);
		return;
	}
	if (qget(q, "js_code", code, sizeof(code)) == NULL || code[0] == '\0') {
		errjson(out, outsz, 41008);
		return;
	}
	if (strncmp(code, "bench-", 6) != 0) {
		errjson(out, outsz, 40029);
		return;
	}
	if (!use_code(code)) {
		errjson(out, outsz, 40163);
		return;
	}
	user = strrchr(code, '-') + 1;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	mbedtls_sha256((const uint8_t *)user, strlen(user), h, 0);
#else
	mbedtls_sha256_ret((const uint8_t *)user, strlen(user), h, 0);
#endif
	openid[0] = 'o';
	for (i = 0; i < 13; i++)
		snprintf(openid + 1 + 2 * i, 3, "%02x", h[i]);
	session_key(openid, sk);
	snprintf(out, outsz, "{\"session_key\":\"%s\",\"openid\":\"%s\"}", sk,
	    openid);
}

static void
stable_token(const char *body, char *out, size_t outsz)
{
	json_object	*o = json_tokener_parse(body), *v;

	if (o == NULL || !json_object_is_type(o, json_type_object))
		errjson(out, outsz, 47001);
	else if (!json_object_object_get_ex(o, "grant_type", &v) ||
	    strcmp(json_object_get_string(v), "client_credential") != 0)
		errjson(out, outsz, 40002);
	else if (!json_object_object_get_ex(o, "appid", &v) ||
	    strcmp(json_object_get_string(v), appid) != 0)
		errjson(out, outsz, 40013);
	else if (!json_object_object_get_ex(o, "secret", &v) ||
	    strcmp(json_object_get_string(v), secret) != 0)
		errjson(out, outsz, 40001);
	else
		snprintf(out, outsz, "{\"access_token\":\"%s\","
		    "\"expires_in\":7200}", TOKEN);
	json_object_put(o);
}

static void
phone(const char *q, const char *body, char *out, size_t outsz)
{
	json_object	*o = NULL, *v;
	char		 tok[256];

	if (qget(q, "access_token", tok, sizeof(tok)) == NULL ||
	    strcmp(tok, TOKEN) != 0) {
		errjson(out, outsz, 40001);
		return;
	}
	if ((o = json_tokener_parse(body)) == NULL ||
	    !json_object_is_type(o, json_type_object))
		errjson(out, outsz, 47001);
	else if (!json_object_object_get_ex(o, "code", &v) ||
	    json_object_get_string_len(v) == 0)
		errjson(out, outsz, 41008);
	else if (strncmp(json_object_get_string(v), "bench-", 6) != 0)
		errjson(out, outsz, 40029);
	else if (!use_code(json_object_get_string(v)))
		errjson(out, outsz, 40163);
	else
		snprintf(out, outsz, "{\"errcode\":0,\"errmsg\":\"ok\","
		    "\"phone_info\":{\"phoneNumber\":\"+86 13800138000\","
		    "\"purePhoneNumber\":\"13800138000\",\"countryCode\":\"86\","
		    "\"watermark\":{\"timestamp\":%ld,\"appid\":\"%s\"}}}",
		    (long)time(NULL), appid);
	json_object_put(o);
}

static int
tls_write(mbedtls_ssl_context *ssl, const char *p, size_t n)
{
	int	 r;

	while (n > 0) {
		r = mbedtls_ssl_write(ssl, (const unsigned char *)p, n);
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE ||
		    r == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * The length of the request at the start of req (NUL-terminated, len
 * bytes): its head and Content-Length bytes of body; 0 while the head is
 * not whole.  *body is set to where the body starts.
 */
static size_t
request_len(char *req, size_t len, char **body)
{
	char	*e = memmem(req, len, "\r\n\r\n", 4), *cl;
	size_t	 n = 0;

	if (e == NULL)
		return 0;
	*e = '\0';
	if ((cl = strcasestr(req, "\r\ncontent-length:")) != NULL)
		n = strtoul(cl + 17, NULL, 10);
	*e = '\r';
	*body = e + 4;
	return (size_t)(e + 4 - req) + (n > REQ_MAX ? REQ_MAX + 1 : n);
}

/* Serve one connection's requests until it closes. */
static void
serve(mbedtls_ssl_context *ssl)
{
	char			*req, reply[1024], resp[256 + 1024], method[8];
	char			 target[4096], *q, *body = NULL;
	size_t			 len = 0, need;
	struct timespec		 d;
	int			 r, n, wechat;

	if ((req = malloc(REQ_MAX + 1)) == NULL)
		return;
	req[0] = '\0';
	for (;;) {
		/* A whole request: the head, then Content-Length bytes. */
		while ((need = request_len(req, len, &body)) == 0 ||
		    need > len) {
			if (len == REQ_MAX || need > REQ_MAX)
				goto out;
			r = mbedtls_ssl_read(ssl, (unsigned char *)req + len,
			    REQ_MAX - len);
			if (r == MBEDTLS_ERR_SSL_WANT_READ ||
			    r == MBEDTLS_ERR_SSL_WANT_WRITE)
				continue;
			if (r <= 0)
				goto out;
			len += (size_t)r;
			req[len] = '\0';
		}
		body[-4] = '\0';
		if (sscanf(req, "%7s %4095s", method, target) != 2)
			goto out;
		if ((q = strchr(target, '?')) != NULL)
			*q++ = '\0';
		else
			q = target + strlen(target);	/* "" */
		{
			char	 save = req[need];

			req[need] = '\0';
			wechat = 1;
			if (strcmp(target, "/_fake/config") == 0) {
				char	 v[32];

				wechat = 0;
				if (qget(q, "latency_ms", v, sizeof(v)) != NULL)
					latency_ms = strtol(v, NULL, 10);
				if (qget(q, "fail_all", v, sizeof(v)) != NULL)
					fail_all = strtol(v, NULL, 10);
				snprintf(reply, sizeof(reply), "{\"latency_ms\":"
				    "%ld,\"fail_all\":%ld}", latency_ms, fail_all);
			} else if (fail_all != 0)
				errjson(reply, sizeof(reply), fail_all);
			else if (strcmp(target, "/sns/jscode2session") == 0)
				jscode2session(q, reply, sizeof(reply));
			else if (strcmp(target, "/cgi-bin/stable_token") == 0)
				stable_token(body, reply, sizeof(reply));
			else if (strcmp(target,
			    "/wxa/business/getuserphonenumber") == 0)
				phone(q, body, reply, sizeof(reply));
			else
				errjson(reply, sizeof(reply), 40066);
			req[need] = save;
		}
		if (wechat && latency_ms > 0) {
			d.tv_sec = latency_ms / 1000;
			d.tv_nsec = (latency_ms % 1000) * 1000000L;
			nanosleep(&d, NULL);
		}
		/*
		 * Head and body in one write, so one TLS record and one TCP
		 * segment, as a web server sends a small reply it has whole
		 * (two writes would wake the client twice).
		 */
		n = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Type: "
		    "text/plain\r\nContent-Length: %zu\r\nConnection: "
		    "keep-alive\r\n\r\n%s", strlen(reply), reply);
		if (n < 0 || (size_t)n >= sizeof(resp) ||
		    tls_write(ssl, resp, (size_t)n) == -1)
			goto out;
		memmove(req, req + need, len - need);
		len -= need;
		req[len] = '\0';
	}
out:
	free(req);
}

static void *
conn_main(void *arg)
{
	mbedtls_net_context	 fd;
	mbedtls_ssl_context	 ssl;
	int			 r;

	fd.fd = (int)(intptr_t)arg;
	mbedtls_ssl_init(&ssl);
	if (mbedtls_ssl_setup(&ssl, &conf))
		goto out;
	mbedtls_ssl_set_bio(&ssl, &fd, mbedtls_net_send, mbedtls_net_recv, NULL);
	while ((r = mbedtls_ssl_handshake(&ssl)) != 0)
		if (r != MBEDTLS_ERR_SSL_WANT_READ &&
		    r != MBEDTLS_ERR_SSL_WANT_WRITE)
			goto out;
	serve(&ssl);
	mbedtls_ssl_close_notify(&ssl);
out:
	mbedtls_ssl_free(&ssl);
	mbedtls_net_free(&fd);
	return NULL;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	pthread_attr_t		 ta;
	pthread_t		 t;
	FILE			*f;
	int			 s, c, one = 1;

	if (argc != 6) {
		fprintf(stderr, "usage: wxbench PORTFILE CERT KEY APPID SECRET\n");
		return 2;
	}
	appid = argv[4];
	secret = argv[5];
	signal(SIGPIPE, SIG_IGN);
	if ((used = calloc(USED_SLOTS, sizeof(*used))) == NULL)
		return 1;
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pk);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0) ||
	    mbedtls_x509_crt_parse_file(&crt, argv[2]) != 0 ||
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	    mbedtls_pk_parse_keyfile(&pk, argv[3], NULL,
	    mbedtls_ctr_drbg_random, &drbg) != 0) {
#else
	    mbedtls_pk_parse_keyfile(&pk, argv[3], NULL) != 0) {
#endif
		fprintf(stderr, "wxbench: cannot load %s / %s\n", argv[2],
		    argv[3]);
		return 1;
	}
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_cache_init(&cache);
	if (mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) ||
	    mbedtls_ssl_conf_own_cert(&conf, &crt, &pk)) {
		fprintf(stderr, "wxbench: TLS configuration failed\n");
		return 1;
	}
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_cache_set_max_entries(&cache, 4096);
	mbedtls_ssl_conf_session_cache(&conf, &cache, mbedtls_ssl_cache_get,
	    mbedtls_ssl_cache_set);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(s, 512) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &sl) == -1) {
		perror("wxbench: listen");
		return 1;
	}
	if ((f = fopen(argv[1], "w")) == NULL)
		return 1;
	fprintf(f, "%d\n", ntohs(sin.sin_port));
	fclose(f);
	fprintf(stderr, "wxbench listening on https://127.0.0.1:%d\n",
	    ntohs(sin.sin_port));
	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, 256 * 1024);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	for (;;) {
		if ((c = accept(s, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE)
				continue;
			perror("wxbench: accept");
			return 1;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&t, &ta, conn_main, (void *)(intptr_t)c) != 0)
			close(c);
	}
}
