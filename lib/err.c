/*
 * err.c -- the table behind enum err: status, slug and message per outcome.
 * Messages are shown to end users by mini programs (wx.showModal), so they
 * are short, in Chinese, and say what the user can do.
 */
#include "err.h"

static const struct err_info errs[ERR__MAX] = {
	[ERR_OK] = { 200, "OK", "ok", "ok" },
	[ERR_BAD_REQUEST] = { 400, "Bad Request", "bad_request",
	    "请求参数有误" },
	[ERR_INVALID_CODE] = { 400, "Bad Request", "invalid_code",
	    "登录凭证无效或已使用，请重新登录" },
	[ERR_BLOCKED_USER] = { 403, "Forbidden", "blocked_user",
	    "微信判定当前账号存在风险，暂时无法登录" },
	[ERR_DECRYPT_FAILED] = { 400, "Bad Request", "decrypt_failed",
	    "数据解密失败，请重新登录后再试" },
	[ERR_INVALID_WATERMARK] = { 400, "Bad Request", "invalid_watermark",
	    "数据不属于本小程序" },
	[ERR_INVALID_SIGNATURE] = { 400, "Bad Request", "invalid_signature",
	    "数据签名校验失败，请重新登录后再试" },
	[ERR_UNAUTHORIZED] = { 401, "Unauthorized", "unauthorized",
	    "登录已失效，请重新登录" },
	[ERR_NOT_FOUND] = { 404, "Not Found", "not_found",
	    "接口不存在" },
	[ERR_METHOD_NOT_ALLOWED] = { 405, "Method Not Allowed",
	    "method_not_allowed", "请求方法不支持" },
	[ERR_PAYLOAD_TOO_LARGE] = { 413, "Payload Too Large",
	    "payload_too_large", "请求内容过大" },
	[ERR_RATE_LIMITED] = { 429, "Too Many Requests", "rate_limited",
	    "操作过于频繁，请稍后再试" },
	[ERR_INTERNAL] = { 500, "Internal Server Error", "internal",
	    "服务器内部错误，请稍后再试" },
	[ERR_UPSTREAM_ERROR] = { 502, "Bad Gateway", "upstream_error",
	    "微信服务暂时不可用，请稍后再试" },
	[ERR_UNAVAILABLE] = { 503, "Service Unavailable", "unavailable",
	    "服务暂时不可用，请稍后再试" },
	[ERR_UPSTREAM_TIMEOUT] = { 504, "Gateway Timeout", "upstream_timeout",
	    "微信服务响应超时，请稍后再试" },
};

const struct err_info *
err_info(enum err er)
{
	if ((int)er < 0 || er >= ERR__MAX)
		er = ERR_INTERNAL;
	return &errs[er];
}

const int err_server_statuses[] = {
	400, 403, 404, 405, 408, 411, 413, 414, 417, 431,
	500, 501, 502, 503, 504, 505,
};
const int err_server_nstatuses =
    sizeof(err_server_statuses) / sizeof(err_server_statuses[0]);

enum err
err_for_server_status(int status)
{
	switch (status) {
	case 404:
		return ERR_NOT_FOUND;
	case 405:
	case 501:	/* method the server does not implement */
		return ERR_METHOD_NOT_ALLOWED;
	case 413:
		return ERR_PAYLOAD_TOO_LARGE;
	case 429:
		return ERR_RATE_LIMITED;
	case 500:	/* lighttpd: a worker closed without answering (it died) */
	case 502:	/* the pool answered garbage or not at all */
	case 503:	/* the pool cannot be reached */
		return ERR_UNAVAILABLE;
	case 504:	/* the pool did not answer in time */
		return ERR_UPSTREAM_TIMEOUT;
	default:
		return ERR_BAD_REQUEST;
	}
}
