/*
 * resp.c -- the one place that writes response bytes (see resp.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonx.h"
#include "req.h"
#include "resp.h"

void
reply_init(struct reply *rp)
{
	memset(rp, 0, sizeof(*rp));
	buf_init(&rp->raw, RESP_RAW_MAX);
}

void
reply_free(struct reply *rp)
{
	json_object_put(rp->res);
	buf_free(&rp->raw);
	reply_init(rp);
}

void
reply_err(struct reply *rp, enum err er, const char *fmt, ...)
{
	va_list	 ap;

	rp->er = er;
	rp->msg[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(rp->msg, sizeof(rp->msg), fmt, ap);
		va_end(ap);
	}
}

static json_object *
envelope(const struct reply *rp)
{
	const struct err_info	*ei = err_info(rp->er);
	json_object		*o = json_object_new_object();

	jsonx_set(o, "code", json_object_new_int(
	    rp->er < ERR__MAX ? (int)rp->er : (int)ERR_INTERNAL));
	jsonx_set(o, "msg", json_object_new_string(
	    rp->msg[0] != '\0' ? rp->msg : ei->msg));
	if (rp->er == ERR_OK)
		jsonx_set(o, "res", rp->res != NULL ?
		    json_object_get(rp->res) : json_object_new_object());
	else
		jsonx_set(o, "error",
		    json_object_new_string(ei->slug));
	return o;
}

int
reply_body(const struct reply *rp, struct buf *out)
{
	json_object	*o = envelope(rp);
	size_t		 len;
	const char	*body = jsonx_text(o, &len);
	int		 rc = buf_add(out, body, len);

	json_object_put(o);
	return rc;
}

/* A successful raw reply: the bytes, cacheable for ever (or 304). */
static int
render_raw(const struct reply *rp, const char *rid, struct buf *out)
{
	int	 rc = 0;

	rc |= buf_addf(out, "Status: %s\r\n", rp->not_modified ?
	    "304 Not Modified" : "200 OK");
	if (!rp->not_modified)
		rc |= buf_addf(out, "Content-Type: %s\r\n", rp->raw_type);
	rc |= buf_addf(out, "Cache-Control: public, max-age=31536000, "
	    "immutable\r\nX-Content-Type-Options: nosniff\r\n"
	    "X-Request-Id: %s\r\n", rid);
	if (rp->etag[0] != '\0')
		rc |= buf_addf(out, "ETag: %s\r\n", rp->etag);
	if (rp->not_modified)
		return buf_add(out, "\r\n", 2) | rc ? -1 : 0;
	rc |= buf_addf(out, "Content-Length: %zu\r\n\r\n", rp->raw.len);
	rc |= buf_add(out, rp->raw.p, rp->raw.len);
	return rc == 0 ? 0 : -1;
}

static int
render(const struct reply *rp, const char *rid, struct buf *out)
{
	const struct err_info	*ei = err_info(rp->er);
	json_object		*o;
	const char		*body;
	size_t			 len;
	int			 rc = 0;

	if (rp->er == ERR_OK && rp->raw_type != NULL)
		return render_raw(rp, rid, out);
	/* Fixed text appended as it is, not parsed as a format by printf. */
	rc |= buf_addf(out, "Status: %d %s\r\n", ei->status, ei->reason);
	rc |= buf_adds(out, "Content-Type: application/json; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Request-Id: ");
	rc |= buf_adds(out, rid);
	rc |= buf_adds(out, "\r\n");
	if (rp->set_cookie[0] != '\0') {
		rc |= buf_adds(out, "Set-Cookie: ");
		rc |= buf_adds(out, rp->set_cookie);
		rc |= buf_adds(out, "\r\n");
	}
	if (rp->retry_after > 0)
		rc |= buf_addf(out, "Retry-After: %ld\r\n", rp->retry_after);
	if (rp->er == ERR_METHOD_NOT_ALLOWED && rp->allow != 0)
		rc |= buf_addf(out, "Allow: %s%s%s\r\n",
		    rp->allow & METHOD_GET ? "GET" : "",
		    (rp->allow & METHOD_GET) && (rp->allow & METHOD_POST) ?
		    ", " : "", rp->allow & METHOD_POST ? "POST" : "");
	o = envelope(rp);
	body = jsonx_text(o, &len);
	rc |= buf_addf(out, "Content-Length: %zu\r\n\r\n", len);
	rc |= buf_add(out, body, len);
	json_object_put(o);
	return rc == 0 ? 0 : -1;
}

int
reply_render(const struct reply *rp, const char *rid, struct buf *out)
{
	struct reply	 fallback;

	if (render(rp, rid, out) == 0)
		return 0;
	buf_reset(out);
	reply_init(&fallback);
	fallback.er = ERR_INTERNAL;
	(void)render(&fallback, rid, out);
	return -1;
}
