/*
 * test_resp.c -- reply_render, reply_body, err_info, err_for_server_status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "jsonx.h"
#include "req.h"
#include "resp.h"

/* The body after the blank line, or NULL. */
static const char *
body_of(const char *out)
{
	const char	*p = strstr(out, "\r\n\r\n");

	return p != NULL ? p + 4 : NULL;
}

/* Does the header block (before the blank line) contain line? */
static int
has_header(const char *out, const char *line)
{
	const char	*end = strstr(out, "\r\n\r\n");
	const char	*p = out;
	size_t		 n = strlen(line);

	if (end == NULL)
		return 0;
	while (p < end) {
		const char *eol = strstr(p, "\r\n");

		if ((size_t)(eol - p) == n && memcmp(p, line, n) == 0)
			return 1;
		p = eol + 2;
	}
	return 0;
}

static int
has_header_name(const char *out, const char *name)
{
	const char	*end = strstr(out, "\r\n\r\n");
	const char	*p = strstr(out, name);

	return p != NULL && end != NULL && p < end;
}

/* Content-Length matches the body. */
static int
length_ok(const char *out)
{
	const char	*cl = strstr(out, "\r\nContent-Length: ");
	const char	*b = body_of(out);

	if (cl == NULL || b == NULL)
		return 0;
	return strtoul(cl + 18, NULL, 10) == strlen(b);
}

static void
test_success(void)
{
	struct reply	 rp;
	struct buf	 out;
	const char	*o;

	reply_init(&rp);
	buf_init(&out, 8192);
	CHECK(reply_render(&rp, "rid-123", &out) == 0);
	o = buf_str(&out);
	CHECK(strncmp(o, "Status: 200 OK\r\n", 16) == 0);
	CHECK(has_header(o, "Content-Type: application/json; charset=utf-8"));
	CHECK(has_header(o, "Cache-Control: no-store"));
	CHECK(has_header(o, "X-Request-Id: rid-123"));
	CHECK(has_header(o, "Content-Length: 30"));
	CHECK(!has_header_name(o, "Set-Cookie"));
	CHECK(!has_header_name(o, "Retry-After"));
	CHECK(!has_header_name(o, "Allow"));
	CHECK_STR(body_of(o), "{\"code\":0,\"msg\":\"ok\",\"res\":{}}");
	CHECK(length_ok(o));

	/* With a payload (owned by the reply). */
	buf_reset(&out);
	rp.res = json_object_new_object();
	jsonx_add_str(rp.res, "token", "abc");
	json_object_object_add(rp.res, "n", json_object_new_int(5));
	CHECK(reply_render(&rp, "r", &out) == 0);
	o = buf_str(&out);
	CHECK_STR(body_of(o),
	    "{\"code\":0,\"msg\":\"ok\",\"res\":{\"token\":\"abc\",\"n\":5}}");
	CHECK(length_ok(o));
	/* Chinese text: Content-Length counts bytes. */
	buf_reset(&out);
	jsonx_add_str(rp.res, "nick", "\xe5\xbe\xae\xe4\xbf\xa1");
	CHECK(reply_render(&rp, "r", &out) == 0);
	o = buf_str(&out);
	CHECK(strstr(o, "\"nick\":\"\xe5\xbe\xae\xe4\xbf\xa1\"") != NULL);
	CHECK(length_ok(o));
	reply_free(&rp);
	CHECK(rp.res == NULL && rp.er == ERR_OK);

	/* Set-Cookie. */
	buf_reset(&out);
	reply_init(&rp);
	snprintf(rp.set_cookie, sizeof(rp.set_cookie),
	    "sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax");
	CHECK(reply_render(&rp, "r", &out) == 0);
	CHECK(has_header(buf_str(&out),
	    "Set-Cookie: sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax"));
	reply_free(&rp);
	buf_free(&out);
}

static void
test_error(void)
{
	struct reply	 rp;
	struct buf	 out;
	const char	*o;
	char		 want[512];

	reply_init(&rp);
	buf_init(&out, 8192);
	reply_err(&rp, ERR_UNAUTHORIZED, NULL);
	CHECK(rp.er == ERR_UNAUTHORIZED && rp.msg[0] == '\0');
	CHECK(reply_render(&rp, "abc", &out) == 0);
	o = buf_str(&out);
	CHECK(strncmp(o, "Status: 401 Unauthorized\r\n", 26) == 0);
	CHECK(has_header(o, "Cache-Control: no-store"));
	CHECK(has_header(o, "X-Request-Id: abc"));
	CHECK(has_header(o, "Content-Type: application/json; charset=utf-8"));
	snprintf(want, sizeof(want), "{\"code\":%d,\"msg\":\"%s\","
	    "\"error\":\"unauthorized\"}", (int)ERR_UNAUTHORIZED,
	    err_info(ERR_UNAUTHORIZED)->msg);
	CHECK_STR(body_of(o), want);
	CHECK(strstr(o, "\"res\"") == NULL);
	CHECK(length_ok(o));

	/* A custom message (printf). */
	buf_reset(&out);
	reply_err(&rp, ERR_BAD_REQUEST, "缺少参数 %s (%d)", "code", 7);
	CHECK(reply_render(&rp, "abc", &out) == 0);
	o = buf_str(&out);
	CHECK(strncmp(o, "Status: 400 Bad Request\r\n", 25) == 0);
	CHECK_STR(body_of(o), "{\"code\":1,\"msg\":\"缺少参数 code (7)\","
	    "\"error\":\"bad_request\"}");
	CHECK(length_ok(o));
	/* A message needing JSON escapes stays valid JSON. */
	buf_reset(&out);
	reply_err(&rp, ERR_BAD_REQUEST, "a \"quoted\" \\ msg\n");
	CHECK(reply_render(&rp, "abc", &out) == 0);
	{
		const char	*b = body_of(buf_str(&out));
		json_object	*j = jsonx_parse(b, strlen(b));
		const char	*m;
		size_t		 ml;

		CHECK(j != NULL && jsonx_str(j, "msg", &m, &ml) == 1 &&
		    strcmp(m, "a \"quoted\" \\ msg\n") == 0);
		json_object_put(j);
	}
	/* reply_err with NULL fmt resets the message. */
	reply_err(&rp, ERR_NOT_FOUND, NULL);
	CHECK(rp.msg[0] == '\0');

	/* Retry-After */
	buf_reset(&out);
	reply_err(&rp, ERR_RATE_LIMITED, NULL);
	rp.retry_after = 60;
	CHECK(reply_render(&rp, "abc", &out) == 0);
	o = buf_str(&out);
	CHECK(strncmp(o, "Status: 429 Too Many Requests\r\n", 31) == 0);
	CHECK(has_header(o, "Retry-After: 60"));
	CHECK(strstr(body_of(o), "\"error\":\"rate_limited\"") != NULL);
	CHECK(strstr(body_of(o), "\"code\":11,") != NULL);
	reply_free(&rp);

	/* Allow on 405. */
	buf_reset(&out);
	reply_err(&rp, ERR_METHOD_NOT_ALLOWED, NULL);
	rp.allow = METHOD_POST;
	CHECK(reply_render(&rp, "abc", &out) == 0);
	o = buf_str(&out);
	CHECK(strncmp(o, "Status: 405 Method Not Allowed\r\n", 32) == 0);
	CHECK(has_header(o, "Allow: POST"));
	buf_reset(&out);
	rp.allow = METHOD_GET | METHOD_POST;
	CHECK(reply_render(&rp, "abc", &out) == 0);
	CHECK(has_header(buf_str(&out), "Allow: GET, POST"));
	buf_reset(&out);
	rp.allow = METHOD_GET;
	CHECK(reply_render(&rp, "abc", &out) == 0);
	CHECK(has_header(buf_str(&out), "Allow: GET"));
	/* Not on other statuses. */
	buf_reset(&out);
	reply_err(&rp, ERR_NOT_FOUND, NULL);
	CHECK(reply_render(&rp, "abc", &out) == 0);
	CHECK(!has_header_name(buf_str(&out), "Allow:"));
	reply_free(&rp);
	buf_free(&out);
}

static void
test_body_and_overflow(void)
{
	struct reply	 rp;
	struct buf	 out;
	const char	*o;

	reply_init(&rp);
	buf_init(&out, 4096);
	CHECK(reply_body(&rp, &out) == 0);
	CHECK_STR(buf_str(&out), "{\"code\":0,\"msg\":\"ok\",\"res\":{}}");
	buf_reset(&out);
	reply_err(&rp, ERR_UPSTREAM_TIMEOUT, "x");
	CHECK(reply_body(&rp, &out) == 0);
	CHECK_STR(buf_str(&out),
	    "{\"code\":15,\"msg\":\"x\",\"error\":\"upstream_timeout\"}");
	buf_free(&out);
	/* Over max. */
	buf_init(&out, 10);
	CHECK(reply_body(&rp, &out) == -1);
	buf_free(&out);

	/* reply_render over max: a 500 reply replaces it if that fits. */
	reply_init(&rp);
	rp.res = json_object_new_object();
	{
		char	 big[2000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		jsonx_add_str(rp.res, "big", big);
	}
	buf_init(&out, 1000);
	CHECK(reply_render(&rp, "rid", &out) == -1);
	o = buf_str(&out);
	CHECK(strncmp(o, "Status: 500 Internal Server Error\r\n", 35) == 0);
	CHECK(strstr(o, "xxxx") == NULL);
	CHECK(strstr(o, "\"error\":\"internal\"") != NULL);
	CHECK(length_ok(o));
	reply_free(&rp);
	buf_free(&out);
}

static void
test_err_info(void)
{
	static const struct {
		enum err	 er;
		int		 status;
		const char	*slug;
	} want[] = {
		{ ERR_OK, 200, "ok" },
		{ ERR_BAD_REQUEST, 400, "bad_request" },
		{ ERR_INVALID_CODE, 400, "invalid_code" },
		{ ERR_BLOCKED_USER, 403, "blocked_user" },
		{ ERR_DECRYPT_FAILED, 400, "decrypt_failed" },
		{ ERR_INVALID_WATERMARK, 400, "invalid_watermark" },
		{ ERR_INVALID_SIGNATURE, 400, "invalid_signature" },
		{ ERR_UNAUTHORIZED, 401, "unauthorized" },
		{ ERR_NOT_FOUND, 404, "not_found" },
		{ ERR_METHOD_NOT_ALLOWED, 405, "method_not_allowed" },
		{ ERR_PAYLOAD_TOO_LARGE, 413, "payload_too_large" },
		{ ERR_RATE_LIMITED, 429, "rate_limited" },
		{ ERR_INTERNAL, 500, "internal" },
		{ ERR_UPSTREAM_ERROR, 502, "upstream_error" },
		{ ERR_UNAVAILABLE, 503, "unavailable" },
		{ ERR_UPSTREAM_TIMEOUT, 504, "upstream_timeout" },
	};
	size_t			 i;
	int			 e, ok = 1;
	const struct err_info	*ei;

	CHECK(sizeof(want) / sizeof(want[0]) == ERR__MAX);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ei = err_info(want[i].er);
		if (ei == NULL || ei->status != want[i].status ||
		    ei->slug == NULL || strcmp(ei->slug, want[i].slug) != 0) {
			ok = 0;
			fprintf(stderr, "err_info(%d) wrong\n", (int)want[i].er);
		}
	}
	CHECK(ok);
	/* Every row complete. */
	for (ok = 1, e = 0; e < ERR__MAX; e++) {
		ei = err_info((enum err)e);
		if (ei->reason == NULL || ei->reason[0] == '\0' ||
		    ei->msg == NULL || ei->msg[0] == '\0' ||
		    ei->slug[0] == '\0' || ei->status < 200 || ei->status > 599)
			ok = 0;
	}
	CHECK(ok);
	CHECK_STR(err_info(ERR_NOT_FOUND)->reason, "Not Found");
	/* Out of range: ERR_INTERNAL's row. */
	CHECK(err_info(ERR__MAX) == err_info(ERR_INTERNAL));
	CHECK(err_info((enum err)1000) == err_info(ERR_INTERNAL));
	CHECK(err_info((enum err)-1) == err_info(ERR_INTERNAL));
	/* An out-of-range reply renders as internal with code 12. */
	{
		struct reply	 rp;
		struct buf	 out;

		reply_init(&rp);
		rp.er = (enum err)77;
		buf_init(&out, 4096);
		CHECK(reply_body(&rp, &out) == 0);
		CHECK(strstr(buf_str(&out), "\"code\":12,") != NULL &&
		    strstr(buf_str(&out), "\"error\":\"internal\"") != NULL);
		buf_free(&out);
	}
}

static void
test_server_status(void)
{
	int	 i, ok;

	CHECK(err_for_server_status(413) == ERR_PAYLOAD_TOO_LARGE);
	CHECK(err_for_server_status(503) == ERR_UNAVAILABLE);
	CHECK(err_for_server_status(502) == ERR_UNAVAILABLE);
	CHECK(err_for_server_status(504) == ERR_UPSTREAM_TIMEOUT);
	CHECK(err_for_server_status(404) == ERR_NOT_FOUND);
	CHECK(err_for_server_status(405) == ERR_METHOD_NOT_ALLOWED);
	/* The web server's own 500: a worker that died mid-request, not our bug. */
	CHECK(err_for_server_status(500) == ERR_UNAVAILABLE);
	CHECK(err_for_server_status(431) == ERR_BAD_REQUEST);
	CHECK(err_for_server_status(400) == ERR_BAD_REQUEST);
	CHECK(err_for_server_status(414) == ERR_BAD_REQUEST);
	CHECK(err_for_server_status(408) == ERR_BAD_REQUEST);
	/* Every listed status maps to an error (never ERR_OK). */
	CHECK(err_server_nstatuses > 0);
	for (ok = 1, i = 0; i < err_server_nstatuses; i++)
		if (err_for_server_status(err_server_statuses[i]) == ERR_OK ||
		    err_for_server_status(err_server_statuses[i]) >= ERR__MAX)
			ok = 0;
	CHECK(ok);
}

/* A raw reply (GET /api/avatar/<id>): its bytes, cacheable, or 304. */
static void
test_raw(void)
{
	struct reply	 rp;
	struct buf	 out;
	const char	*o;

	reply_init(&rp);
	buf_init(&out, 8192);
	rp.raw_type = "image/png";
	snprintf(rp.etag, sizeof(rp.etag), "\"0123\"");
	CHECK(buf_add(&rp.raw, "\x89PNG\0x", 6) == 0);
	CHECK(reply_render(&rp, "rid-9", &out) == 0);
	o = buf_str(&out);
	CHECK(strncmp(o, "Status: 200 OK\r\n", 16) == 0);
	CHECK(has_header(o, "Content-Type: image/png"));
	CHECK(has_header(o, "Cache-Control: public, max-age=31536000, immutable"));
	CHECK(has_header(o, "ETag: \"0123\""));
	CHECK(has_header(o, "X-Request-Id: rid-9"));
	CHECK(has_header(o, "Content-Length: 6"));
	CHECK(out.len >= 6 && memcmp(out.p + out.len - 6, "\x89PNG\0x", 6) == 0);
	/* 304: no type, no body. */
	buf_reset(&out);
	rp.not_modified = 1;
	CHECK(reply_render(&rp, "r", &out) == 0);
	o = buf_str(&out);
	CHECK(strncmp(o, "Status: 304 Not Modified\r\n", 26) == 0);
	CHECK(has_header(o, "ETag: \"0123\""));
	CHECK(!has_header_name(o, "\r\nContent-Type:"));
	CHECK(out.len >= 4 && strcmp(out.p + out.len - 4, "\r\n\r\n") == 0);
	/* An error is the envelope, raw or not. */
	buf_reset(&out);
	rp.not_modified = 0;
	rp.er = ERR_NOT_FOUND;
	CHECK(reply_render(&rp, "r", &out) == 0);
	o = buf_str(&out);
	CHECK(strncmp(o, "Status: 404 ", 12) == 0);
	CHECK(has_header(o, "Cache-Control: no-store"));
	CHECK(has_header(o, "Content-Type: application/json; charset=utf-8"));
	reply_free(&rp);
	CHECK(rp.raw.len == 0 && rp.raw_type == NULL);
	buf_free(&out);
}

int
main(void)
{
	test_success();
	test_raw();
	test_error();
	test_body_and_overflow();
	test_err_info();
	test_server_status();
	return check_done("test_resp");
}
