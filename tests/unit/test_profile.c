/*
 * test_profile.c -- which source wins, placeholders, limits, phone data.
 */
#include <string.h>

#include "check.h"
#include "jsonx.h"
#include "profile.h"

#define GREY	"https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNj" \
		"jGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9Vem" \
		"ZoJ8rg/132"

static const struct pspec spec[] = { PROFILE_PSPECS };

static char	 msg[256];

/* Parse a form into params with the profile's declared table. */
static int
params(const char *form, struct params *pa)
{
	return params_parse(spec, sizeof(spec) / sizeof(spec[0]), form,
	    BODY_NONE, NULL, 0, pa, msg, sizeof(msg)) == ERR_OK ? 0 : -1;
}

static enum err
wechat(struct profile *p, const char *json)
{
	json_object	*o = jsonx_parse(json, strlen(json));
	enum err	 er;

	if (o == NULL)
		return ERR_INTERNAL;
	er = profile_from_wechat(p, o, msg, sizeof(msg));
	json_object_put(o);
	return er;
}

static void
test_placeholder_avatar(void)
{
	CHECK(profile_is_placeholder_avatar(GREY));
	CHECK(profile_is_placeholder_avatar("http://wx.qlogo.cn/mmopen/vi_32/"
	    "POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmia"
	    "IGuG1icwxaQX6grC9VemZoJ8rg/0"));
	CHECK(profile_is_placeholder_avatar("https://thirdwx.qlogo.cn/mmopen/"
	    "vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq"
	    "4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg"));
	/* A real avatar, another host, a longer id, not a URL. */
	CHECK(!profile_is_placeholder_avatar("https://thirdwx.qlogo.cn/mmopen/"
	    "vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySd"
	    "bvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/132"));
	CHECK(!profile_is_placeholder_avatar("https://evil.example/mmopen/"
	    "vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq"
	    "4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"));
	CHECK(!profile_is_placeholder_avatar("https://xqlogo.cn/mmopen/vi_32/"
	    "POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmia"
	    "IGuG1icwxaQX6grC9VemZoJ8rg/132"));
	CHECK(!profile_is_placeholder_avatar("https://thirdwx.qlogo.cn/mmopen/"
	    "vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq"
	    "4BWmiaIGuG1icwxaQX6grC9VemZoJ8rgX/132"));
	CHECK(!profile_is_placeholder_avatar("/api/avatar/abc"));
	/* Case and ports do not hide it. */
	CHECK(profile_is_placeholder_avatar("HTTPS://THIRDWX.QLOGO.CN/mmopen/"
	    "vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq"
	    "4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"));
	CHECK(profile_is_placeholder_avatar("https://thirdwx.qlogo.cn:443/mmopen/"
	    "vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq"
	    "4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"));
	CHECK(!profile_is_placeholder_avatar(""));
}

static void
test_precedence(void)
{
	struct profile	 p;
	struct params	 pa;

	memset(&p, 0, sizeof(p));
	CHECK(params("nick_name=Plain&gender=1&city=Beijing&language=en",
	    &pa) == 0);
	profile_from_params(&p, &pa);
	params_free(&pa);
	CHECK_STR(p.v[PF_NICK_NAME], "Plain");
	CHECK_STR(p.v[PF_GENDER], "1");
	CHECK_STR(p.v[PF_CITY], "Beijing");
	CHECK(p.v[PF_PROVINCE] == NULL && p.v[PF_UNIONID] == NULL);
	CHECK(profile_any(&p));
	/* WeChat's data wins where it says something. */
	CHECK(wechat(&p, "{\"nickName\":\"Band\",\"gender\":2,\"city\":\"\","
	    "\"province\":\"Guangdong\",\"unionId\":\"ocMvos6NjeKLIBqg5Mr9Q\","
	    "\"avatarUrl\":\"http://wx.qlogo.cn/mmopen/vi_32/x/0\","
	    "\"openId\":\"ignored\",\"watermark\":{\"appid\":\"x\"}}") == ERR_OK);
	CHECK_STR(p.v[PF_NICK_NAME], "Band");
	CHECK_STR(p.v[PF_GENDER], "2");
	CHECK_STR(p.v[PF_CITY], "Beijing");	/* "" is not given */
	CHECK_STR(p.v[PF_PROVINCE], "Guangdong");
	CHECK_STR(p.v[PF_UNIONID], "ocMvos6NjeKLIBqg5Mr9Q");
	CHECK_STR(p.v[PF_AVATAR_URL], "http://wx.qlogo.cn/mmopen/vi_32/x/0");
	CHECK_STR(p.v[PF_LANGUAGE], "en");
	profile_free(&p);
	CHECK(!profile_any(&p));
}

static void
test_anonymous(void)
{
	struct profile	 p;
	struct params	 pa;

	/* The seed's plain fields from today's anonymous getUserInfo. */
	memset(&p, 0, sizeof(p));
	CHECK(params("nick_name=%E5%BE%AE%E4%BF%A1%E7%94%A8%E6%88%B7&gender=0"
	    "&avatar_url=https%3A%2F%2Fthirdwx.qlogo.cn%2Fmmopen%2Fvi_32%2F"
	    "POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmia"
	    "IGuG1icwxaQX6grC9VemZoJ8rg%2F132&country=&language=zh_CN",
	    &pa) == 0);
	profile_from_params(&p, &pa);
	params_free(&pa);
	CHECK(p.v[PF_NICK_NAME] == NULL);
	CHECK(p.v[PF_GENDER] == NULL);
	CHECK(p.v[PF_AVATAR_URL] == NULL);
	CHECK(p.v[PF_COUNTRY] == NULL);
	CHECK_STR(p.v[PF_LANGUAGE], "zh_CN");
	/* A real nickname typed earlier is not replaced by the placeholder. */
	profile_free(&p);
	CHECK(params("nick_name=Real&gender=1", &pa) == 0);
	profile_from_params(&p, &pa);
	params_free(&pa);
	CHECK(wechat(&p, "{\"nickName\":\"微信用户\",\"gender\":0,\"avatarUrl\":"
	    "\"" GREY "\",\"unionId\":\"ou1\"}") == ERR_OK);
	CHECK_STR(p.v[PF_NICK_NAME], "Real");
	CHECK_STR(p.v[PF_GENDER], "1");
	CHECK(p.v[PF_AVATAR_URL] == NULL);
	CHECK_STR(p.v[PF_UNIONID], "ou1");
	/* Outside an anonymous profile, gender 0 is a value. */
	CHECK(wechat(&p, "{\"nickName\":\"N\",\"gender\":0}") == ERR_OK);
	CHECK_STR(p.v[PF_GENDER], "0");
	profile_free(&p);
}

static void
test_limits(void)
{
	struct profile	 p;
	struct params	 pa;

	memset(&p, 0, sizeof(p));
	CHECK(wechat(&p, "{\"gender\":3}") == ERR_BAD_REQUEST);
	CHECK(strstr(msg, "gender") != NULL);
	CHECK(wechat(&p, "{\"gender\":\"1\"}") == ERR_OK);
	CHECK(wechat(&p, "{\"nickName\":1}") == ERR_BAD_REQUEST);
	CHECK(wechat(&p, "{\"avatarUrl\":\"ftp://x/y\"}") == ERR_BAD_REQUEST);
	CHECK(wechat(&p, "{\"avatarUrl\":\"javascript:alert(1)\"}") ==
	    ERR_BAD_REQUEST);
	CHECK(wechat(&p, "{\"nickName\":\"a\\u0001b\"}") == ERR_BAD_REQUEST);
	CHECK(wechat(&p, "{\"language\":\"12345678901234567\"}") ==
	    ERR_BAD_REQUEST);
	CHECK(wechat(&p, "{\"nickName\":null,\"city\":null}") == ERR_OK);
	CHECK(wechat(&p, "[1]") == ERR_BAD_REQUEST);
	profile_free(&p);
	/* Plain avatar_url: https or our own avatar path; never http. */
	CHECK(params("avatar_url=http%3A%2F%2Fx.example%2Fa.png", &pa) == -1);
	CHECK(params("avatar_url=https%3A%2F%2Fx.example%2Fa.png", &pa) == 0);
	params_free(&pa);
	CHECK(params("avatar_url=%2Fapi%2Favatar%2FAbc_123-x", &pa) == 0);
	params_free(&pa);
	CHECK(params("avatar_url=%2Fapi%2Favatar%2F..%2Fetc", &pa) == -1);
	CHECK(params("avatar_url=https%3A%2F%2F%2Fpath", &pa) == -1);
	CHECK(params("avatar_url=https%3A%2F%2Fu%40evil.example%2F", &pa) == -1);
	CHECK(params("avatar_url=https%3A%2F%2Fa.example%2F%20x", &pa) == -1);
}

static void
test_phone(void)
{
	struct phone	 ph;
	json_object	*o;
	static const struct {
		const char	*json;
		int		 rc;
		const char	*cc;
	} t[] = {
		{ "{\"phoneNumber\":\"+8613800138000\",\"purePhoneNumber\":"
		    "\"13800138000\",\"countryCode\":\"86\"}", 0, "86" },
		{ "{\"phoneNumber\":\"+8613800138000\",\"purePhoneNumber\":"
		    "\"13800138000\",\"countryCode\":86}", 0, "86" },
		{ "{\"phoneNumber\":\"+1 202-555-0123\",\"purePhoneNumber\":"
		    "\"2025550123\",\"countryCode\":1}", 0, "1" },
		{ "{\"phoneNumber\":\"+86138\",\"purePhoneNumber\":\"138\"}",
		    -1, NULL },
		{ "{\"phoneNumber\":\"+86138\",\"purePhoneNumber\":\"138\","
		    "\"countryCode\":\"+86\"}", -1, NULL },
		{ "{\"phoneNumber\":\"+86138\",\"purePhoneNumber\":\"138\","
		    "\"countryCode\":0}", -1, NULL },
		{ "{\"phoneNumber\":\"+86138\",\"purePhoneNumber\":\"138\","
		    "\"countryCode\":86.5}", -1, NULL },
		{ "{\"phoneNumber\":\"abc\",\"purePhoneNumber\":\"138\","
		    "\"countryCode\":\"86\"}", -1, NULL },
		{ "{\"phoneNumber\":\"\",\"purePhoneNumber\":\"138\","
		    "\"countryCode\":\"86\"}", -1, NULL },
		{ "{\"phoneNumber\":\"+861380013800013800138000138000138\","
		    "\"purePhoneNumber\":\"138\",\"countryCode\":\"86\"}", -1,
		    NULL },
		{ "{\"phoneNumber\":13800138000,\"purePhoneNumber\":\"138\","
		    "\"countryCode\":\"86\"}", -1, NULL },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		o = jsonx_parse(t[i].json, strlen(t[i].json));
		CHECK(o != NULL);
		if (o == NULL)
			continue;
		CHECK(profile_phone(o, &ph) == t[i].rc);
		if (t[i].rc == 0)
			CHECK_STR(ph.country_code, t[i].cc);
		json_object_put(o);
	}
	o = jsonx_parse(t[0].json, strlen(t[0].json));
	CHECK(profile_phone(o, &ph) == 0);
	CHECK_STR(ph.number, "+8613800138000");
	CHECK_STR(ph.pure, "13800138000");
	json_object_put(o);
}

int
main(void)
{
	test_placeholder_avatar();
	test_precedence();
	test_anonymous();
	test_limits();
	test_phone();
	return check_done("test_profile");
}
