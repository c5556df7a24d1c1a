/*
 * fuzz_params.c -- params_parse() (lib/params.h) with the route tables of
 * fcgi/routes.c, rebuilt here from the public macros (fcgi/ exposes none),
 * and one table with every type and flag.
 *
 * Input: a selector byte (the table, whether there is a query string and a
 * Content-Type), then query string, Content-Type and body separated by NUL
 * bytes (the body is the rest and may hold NULs).
 *
 * Invariants on ERR_OK: every value set fits its spec (length reported,
 * no NUL inside, printable ASCII, valid UTF-8 without control characters
 * and code points within bounds for PT_TEXT, integers within [min, max],
 * booleans 0 or 1, hex of the declared length, URLs of the accepted forms,
 * JSON objects), values not set are empty, required ones are set.  On
 * failure: ERR_BAD_REQUEST, a non-empty UTF-8 message, nothing in out.
 * A JSON body gives what params_from_json() gives on the parsed object.
 */
#include <strings.h>

#include "fuzz.h"
#include "jsonx.h"
#include "log.h"
#include "opendata.h"
#include "params.h"
#include "parse.h"
#include "profile.h"
#include "resp.h"

/* fcgi/routes.c's tables, entry for entry. */
static const struct pspec login_spec[] = {
	{ "code", PT_ASCII, 1, 128, P_REQUIRED },
};
static const struct pspec check_session_spec[] = {
	{ "remote", PT_BOOL, 0, 1, 0 },
};
static const struct pspec update_spec[] = {
	PROFILE_PSPECS,
	{ "encrypted_data", PT_ASCII, 1, OPENDATA_B64_MAX, 0 },
	{ "encrypt_iv", PT_ASCII, 1, 64, 0 },
	{ "raw_data", PT_JSON, 1, 4096, 0 },
	{ "signature", PT_HEX, 40, 40, 0 },
};
static const struct pspec phone_spec[] = {
	{ "code", PT_ASCII, 1, 128, 0 },
	{ "encrypted_data", PT_ASCII, 1, OPENDATA_B64_MAX, 0 },
	{ "encrypt_iv", PT_ASCII, 1, 64, 0 },
};
/* Every type and flag, with bounds the routes do not use. */
static const struct pspec every_spec[] = {
	{ "a", PT_ASCII, 2, 8, P_REQUIRED },
	{ "t", PT_TEXT, 1, 3, 0 },
	{ "i", PT_INT, -5, 1000000, 0 },
	{ "b", PT_BOOL, 0, 1, 0 },
	{ "u", PT_URL, 0, 64, P_HTTP },
	{ "h", PT_HEX, 8, 8, 0 },
	{ "j", PT_JSON, 2, 64, 0 },
	{ "n", PT_INT, -9223372036854775807L - 1, 9223372036854775807L, 0 },
};

#define SPEC(s)	{ s, sizeof(s) / sizeof(s[0]) }
static const struct {
	const struct pspec	*spec;
	size_t			 n;
} tables[] = {
	SPEC(login_spec), SPEC(check_session_spec), SPEC(update_spec),
	SPEC(phone_spec), SPEC(every_spec),
};
#define NTABLES	(sizeof(tables) / sizeof(tables[0]))

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static void
check_url(const struct pspec *p, const char *s, size_t len)
{
	size_t	 i;

	FUZZ_CHECK((long)len >= p->min && (long)len <= p->max);
	for (i = 0; i < len; i++)
		FUZZ_CHECK(s[i] > 0x20 && s[i] < 0x7f);
	if (len == 0)
		return;
	FUZZ_CHECK(strncasecmp(s, "https://", 8) == 0 ||
	    ((p->flags & P_HTTP) && strncasecmp(s, "http://", 7) == 0) ||
	    strncmp(s, "/api/avatar/", 12) == 0);
}

/* One value against its spec. */
static void
check_value(const struct pspec *p, const struct pval *v)
{
	json_object	*o;
	long		 cps;
	size_t		 i;

	if (!v->set) {
		FUZZ_CHECK(v->s == NULL && v->len == 0 && v->i == 0);
		FUZZ_CHECK(!(p->flags & P_REQUIRED));
		return;
	}
	FUZZ_CHECK(v->set == 1);
	if (p->type == PT_INT || p->type == PT_BOOL) {
		FUZZ_CHECK(v->s == NULL);
		FUZZ_CHECK(v->i >= p->min && v->i <= p->max);
		if (p->type == PT_BOOL)
			FUZZ_CHECK(v->i == 0 || v->i == 1);
		return;
	}
	FUZZ_CHECK(v->s != NULL);
	FUZZ_CHECK(strlen(v->s) == v->len);	/* no NUL inside */
	switch (p->type) {
	case PT_ASCII:
		FUZZ_CHECK((long)v->len >= p->min && (long)v->len <= p->max);
		for (i = 0; i < v->len; i++)
			FUZZ_CHECK(v->s[i] >= 0x20 && v->s[i] <= 0x7e);
		break;
	case PT_TEXT:
		cps = utf8_count(v->s, v->len);
		FUZZ_CHECK(cps >= 0);
		FUZZ_CHECK(cps >= p->min && cps <= p->max);
		FUZZ_CHECK(!utf8_has_control(v->s, v->len));
		break;
	case PT_URL:
		check_url(p, v->s, v->len);
		break;
	case PT_HEX:
		FUZZ_CHECK((long)v->len == p->max);
		for (i = 0; i < v->len; i++)
			FUZZ_CHECK(is_hex(v->s[i]));
		break;
	case PT_JSON:
		FUZZ_CHECK((long)v->len >= p->min && (long)v->len <= p->max);
		o = jsonx_parse(v->s, v->len);
		FUZZ_CHECK(o != NULL && json_object_is_type(o,
		    json_type_object));
		json_object_put(o);
		break;
	default:
		FUZZ_CHECK(!"a type params.h does not declare");
	}
}

static void
check_outcome(const struct pspec *spec, size_t nspec, enum err er,
    const struct params *pa, const char *msg)
{
	static const struct params	 zero;
	size_t				 i;

	if (er == ERR_OK) {
		FUZZ_CHECK(pa->n == nspec);
		for (i = 0; i < nspec; i++)
			check_value(&spec[i], &pa->v[i]);
		for (; i < PARAMS_MAX; i++)
			FUZZ_CHECK(!pa->v[i].set && pa->v[i].s == NULL);
		return;
	}
	FUZZ_CHECK(er == ERR_BAD_REQUEST);
	FUZZ_CHECK(memchr(msg, '\0', RESP_MSG_MAX) != NULL);
	FUZZ_CHECK(msg[0] != '\0');
	FUZZ_CHECK(utf8_count(msg, strlen(msg)) > 0);
	FUZZ_CHECK(memcmp(pa, &zero, sizeof(zero)) == 0);
}

/* Two results of the same parameters are the same values. */
static int
same_params(size_t nspec, const struct params *a, const struct params *b)
{
	size_t	 i;

	for (i = 0; i < nspec; i++) {
		if (a->v[i].set != b->v[i].set || a->v[i].i != b->v[i].i ||
		    a->v[i].len != b->v[i].len ||
		    (a->v[i].s == NULL) != (b->v[i].s == NULL))
			return 0;
		if (a->v[i].s != NULL && memcmp(a->v[i].s, b->v[i].s,
		    a->v[i].len) != 0)
			return 0;
	}
	return 1;
}

static int
has_required(const struct pspec *spec, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (spec[i].flags & P_REQUIRED)
			return 1;
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*p = data;
	const struct pspec	*spec;
	struct params		 pa, pj;
	json_object		*o;
	enum body_type		 bt;
	char			 msg[RESP_MSG_MAX], msg2[RESP_MSG_MAX];
	char			*query, *ct, *body;
	size_t			 n = size, nspec, bodylen, ctlen;
	unsigned		 sel;
	enum err		 er, er2;

	if (size < 1)
		return 0;
	sel = data[0];
	p++;
	n--;
	spec = tables[(sel & 7) % NTABLES].spec;
	nspec = tables[(sel & 7) % NTABLES].n;
	query = fuzz_part(&p, &n, NULL);
	ct = fuzz_part(&p, &n, &ctlen);
	body = fuzz_dup(p, n);
	bodylen = n;
	if (sel & 0x08) {
		free(query);
		query = NULL;
	}
	if (sel & 0x10) {
		free(ct);
		ct = NULL;
	}

	bt = params_body_type(ct);
	FUZZ_CHECK(bt == BODY_FORM || bt == BODY_JSON || bt == BODY_OTHER ||
	    bt == BODY_NONE);
	if (bt == BODY_FORM)
		FUZZ_CHECK(ctlen >= 33 && strncasecmp(ct,
		    "application/x-www-form-urlencoded", 33) == 0 &&
		    strchr("; \t", ct[33]) != NULL);
	if (bt == BODY_JSON)
		FUZZ_CHECK(ctlen >= 16 && strncasecmp(ct, "application/json",
		    16) == 0 && strchr("; \t", ct[16]) != NULL);
	if (sel & 0x20)		/* as the dispatcher would for any body */
		bt = (enum body_type)((sel >> 6) & 3);

	memset(msg, 0, sizeof(msg));
	memset(&pa, 0xa5, sizeof(pa));
	er = params_parse(spec, nspec, query, bt, body, bodylen, &pa, msg,
	    sizeof(msg));
	check_outcome(spec, nspec, er, &pa, msg);

	/*
	 * A JSON body alone: the same as params_from_json() on the object
	 * (which has no notion of a required parameter).
	 */
	if (query == NULL && bt == BODY_JSON && bodylen > 0 &&
	    !has_required(spec, nspec) &&
	    (o = jsonx_parse(body, bodylen)) != NULL) {
		if (json_object_is_type(o, json_type_object)) {
			memset(msg2, 0, sizeof(msg2));
			er2 = params_from_json(spec, nspec, o, &pj, msg2,
			    sizeof(msg2));
			check_outcome(spec, nspec, er2, &pj, msg2);
			FUZZ_CHECK(er2 == er);
			if (er == ERR_OK)
				FUZZ_CHECK(same_params(nspec, &pa, &pj));
			else
				FUZZ_CHECK(strcmp(msg, msg2) == 0);
			params_free(&pj);
		}
		json_object_put(o);
	}
	params_free(&pa);
	free(query);
	free(ct);
	free(body);
	return 0;
}
