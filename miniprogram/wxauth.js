/*
 * wxauth.js -- the mini program side of wxauth login (CommonJS, no dependencies).
 *
 *   const wxauth = require('./wxauth.js')
 *   wxauth.init({ baseUrl: 'https://api.example.com' })
 *   wxauth.request({ url: '/api/user/info' }).then(res => ...)   // logs in when needed
 *
 * One module instance is shared by every page of the app, and so is its state:
 * at most one session operation (a login, or the check of a stored token) is
 * in flight, and every caller waits on it.  The token is kept in storage
 * ('wxauth_token', and the seed's 'cookies' = "sid=<token>") and sent back as
 * the seed does, in a Cookie header.
 *
 * Every failure rejects with an Error whose message can be shown to the user
 * (the server's msg) and which carries slug (the API's error slug, or one of
 * ours: network, bad_response, wx_login_failed, user_denied) and status (HTTP
 * status; 0 when no response came).
 */
'use strict';

var TOKEN_KEY = 'wxauth_token';
var COOKIES_KEY = 'cookies';

var LOCAL_ERRORS = {
	network: '网络连接失败，请检查网络后重试',
	bad_response: '服务器返回了无法识别的数据，请稍后再试',
	wx_login_failed: '微信登录失败，请稍后再试',
	user_denied: '您取消了授权',
	bad_request: '请求参数有误'
};

var config = { baseUrl: '', wx: null };
var state = { token: null, cookies: null, loaded: false, checked: false, pending: null };

/* The wx object: the one given to init(), else the mini program's global. */
function api() {
	if (config.wx)
		return config.wx;
	if (typeof wx !== 'undefined')
		return wx;
	throw new Error('wxauth: no wx object');
}

/* init({baseUrl, wx}): where the server is (and, for tests, another wx). */
function init(opts) {
	config.baseUrl = String(opts.baseUrl || '').replace(/\/+$/, '');
	config.wx = opts.wx || null;
}

/* url(path): the absolute URL of a path the server returned (an avatar_url). */
function url(p) {
	return /^\//.test(p || '') ? config.baseUrl + p : p;
}

function failure(slug, status, message) {
	var err = new Error(message || LOCAL_ERRORS[slug] || '请求失败，请稍后再试');
	err.slug = slug;
	err.status = status || 0;
	return err;
}

/* A wx.* callback API as a promise. */
function call(name, opts) {
	return new Promise(function (resolve, reject) {
		api()[name](Object.assign({}, opts, { success: resolve, fail: reject }));
	});
}

/* The envelope's res, or the server's error as a failure. */
function unwrap(status, body) {
	if (typeof body === 'string') {
		try {
			body = JSON.parse(body);
		} catch (e) {
			body = null;
		}
	}
	if (!body || typeof body !== 'object' || typeof body.code !== 'number')
		throw failure('bad_response', status);
	if (status === 200 && body.code === 0)
		return body.res || {};
	throw failure(body.error || 'bad_response', status, body.msg);
}

function authHeader(header, cookies) {
	var h = Object.assign({}, header);
	if (cookies)
		h.Cookie = cookies;
	return h;
}

/* One wx.request to the server with these cookies (or none): res or a failure. */
function send(opts, cookies) {
	return call('request', {
		url: config.baseUrl + opts.url,
		method: opts.method || 'GET',
		data: opts.data,
		header: authHeader(opts.header, cookies)
	}).then(function (r) {
		return unwrap(r.statusCode, r.data);
	}, function () {
		throw failure('network');
	});
}

/* ---- the session ---------------------------------------------------------- */

function loadStored() {
	if (state.loaded)
		return;
	state.loaded = true;
	state.token = api().getStorageSync(TOKEN_KEY) || null;
	state.cookies = api().getStorageSync(COOKIES_KEY) || null;
	if (!state.token || !state.cookies)
		state.token = state.cookies = null;
}

function save(token, cookies) {
	state.token = token;
	state.cookies = cookies;
	state.checked = true;
	api().setStorageSync(TOKEN_KEY, token);
	api().setStorageSync(COOKIES_KEY, cookies);
}

function forget() {
	state.token = state.cookies = null;
	state.checked = false;
	api().removeStorageSync(TOKEN_KEY);
	api().removeStorageSync(COOKIES_KEY);
}

/* Run start() unless a session operation is in flight; either way, the
 * promise every caller shares. */
function single(start) {
	if (!state.pending) {
		state.pending = Promise.resolve().then(start);
		state.pending.then(clearPending, clearPending);
	}
	return state.pending;
}

function clearPending() {
	state.pending = null;
}

/* wx.login, then auth_login with its code.  The old token, if any, is sent
 * along so that the server revokes it. */
function authLogin() {
	loadStored();
	return call('login', {}).then(function (r) {
		if (!r || !r.code)
			throw failure('wx_login_failed');
		return r.code;
	}, function () {
		throw failure('wx_login_failed');
	}).then(function (code) {
		return send({ url: '/api/user/auth_login', method: 'POST', data: { code: code } },
		    state.cookies);
	}).then(function (res) {
		save(res.token, res.cookies);
		return res;
	});
}

/* A stored token is reused only when WeChat's session_key is still valid
 * (wx.checkSession) and the server still knows the token; else log in. */
function checkOrLogin() {
	return call('checkSession', {}).then(function () {
		return send({ url: '/api/user/check_session' }, state.cookies);
	}).then(function () {
		state.checked = true;
		return { token: state.token, cookies: state.cookies, reused: true };
	}, authLogin);
}

/* login(): log in now (wx.login + auth_login); resolves to auth_login's res
 * ({token, cookies, expires_in, is_new_user, user}).  Concurrent callers share
 * one login; a caller arriving while a stored token is being checked shares
 * that check instead ({token, cookies, reused: true}). */
function login() {
	return single(authLogin);
}

/* ensureLogin(): a token that works, reusing the stored one after checking
 * it (once per launch), logging in otherwise; resolves to the token. */
function ensureLogin() {
	loadStored();
	if (!state.pending && state.token && state.checked)
		return Promise.resolve(state.token);
	return single(state.token ? checkOrLogin : authLogin).then(function (r) {
		return r.token;
	});
}

/* hasSession(): is a token stored (not yet checked: ensureLogin does that)? */
function hasSession() {
	loadStored();
	return !!state.token;
}

/* After a 401 for the cookies used: log in again, unless another caller has
 * already replaced them; resolves to the cookies to use now. */
function renew(used) {
	if (!state.pending && state.cookies && state.cookies !== used)
		return Promise.resolve(state.cookies);
	return single(authLogin).then(function (r) {
		return r.cookies;
	});
}

/* sendWith(cookies) with a session; on 401 log in again once and resend once. */
function withSession(sendWith) {
	return ensureLogin().then(function () {
		var used = state.cookies;
		return sendWith(used).catch(function (err) {
			if (err.slug !== 'unauthorized')
				throw err;
			return renew(used).then(sendWith);
		});
	});
}

/* Encrypted data that does not decrypt (or a signature that does not verify)
 * means the server holds an older session_key than WeChat: log in again (the
 * server then gets WeChat's current one) and resend once. */
function withFreshKey(sendOnce) {
	return sendOnce().catch(function (err) {
		if (err.slug !== 'decrypt_failed' && err.slug !== 'invalid_signature')
			throw err;
		return login().then(sendOnce);
	});
}

/* request({url, method, data, header}): an authenticated call to the server
 * (url is a path such as '/api/user/info'); resolves to the envelope's res. */
function request(opts) {
	return withSession(function (cookies) {
		return send(opts, cookies);
	});
}

/* logout(): end this session on the server and forget the token. */
function logout() {
	loadStored();
	if (!state.token)
		return Promise.resolve({});
	return send({ url: '/api/user/logout', method: 'POST' }, state.cookies)
	    .catch(function (err) {
		if (err.slug !== 'unauthorized')
			throw err;
		return {};
	}).then(function (res) {
		forget();
		return res;
	});
}

/* ---- profile and phone ---------------------------------------------------- */

var PROFILE_FIELDS = {
	nickName: 'nick_name', gender: 'gender', province: 'province', city: 'city',
	country: 'country', language: 'language', avatarUrl: 'avatar_url'
};

/* The API's parameters from WeChat-style (camelCase) profile fields. */
function profileParams(info) {
	var out = {};
	Object.keys(PROFILE_FIELDS).forEach(function (k) {
		if (info && info[k] !== undefined && info[k] !== null && info[k] !== '')
			out[PROFILE_FIELDS[k]] = info[k];
	});
	return out;
}

/* uploadAvatar(path): the temporary file from <button open-type="chooseAvatar">
 * to POST /api/user/avatar; resolves to {avatar_url, user}. */
function uploadAvatar(filePath) {
	return withSession(function (cookies) {
		return call('uploadFile', {
			url: config.baseUrl + '/api/user/avatar',
			filePath: filePath,
			name: 'file',
			header: authHeader({}, cookies)
		}).then(function (r) {
			return unwrap(r.statusCode, r.data);
		}, function () {
			throw failure('network');
		});
	});
}

/* updateProfile({nickName, avatarPath, gender, ...}): the current flow, a
 * typed nickname and a chosen avatar (uploaded first); resolves to {user}. */
function updateProfile(p) {
	var up = p.avatarPath ? uploadAvatar(p.avatarPath) : Promise.resolve(null);
	return up.then(function (u) {
		var data = profileParams(p);
		if (u)
			data.avatar_url = u.avatar_url;
		return request({ url: '/api/user/update_base_info', method: 'POST', data: data });
	});
}

/* updateProfileLegacy(res): a wx.getUserInfo / getUserProfile result, sent as
 * the seed does (plain fields plus encryptedData + iv, or rawData + signature). */
function updateProfileLegacy(res) {
	var data = profileParams(res.userInfo);
	if (res.encryptedData && res.iv) {
		data.encrypted_data = res.encryptedData;
		data.encrypt_iv = res.iv;
	} else if (res.rawData && res.signature) {
		data.raw_data = res.rawData;
		data.signature = res.signature;
	}
	return withFreshKey(function () {
		return request({ url: '/api/user/update_base_info', method: 'POST', data: data });
	});
}

/* bindPhone(e): the bindgetphonenumber event.  The code when WeChat gave one,
 * else the encrypted data; resolves to {phone_number, pure_phone_number,
 * country_code}.  A user who declined gets user_denied, and no request. */
function bindPhone(e) {
	var d = (e && e.detail) || {};
	var url = '/api/user/bind_wx_phone_number';

	if (!/:ok$/.test(d.errMsg || ''))
		return Promise.reject(failure('user_denied'));
	if (d.code)
		return request({ url: url, method: 'POST', data: { code: d.code } });
	if (!d.encryptedData || !d.iv)
		return Promise.reject(failure('bad_request'));
	return withFreshKey(function () {
		return request({ url: url, method: 'POST',
		    data: { encrypted_data: d.encryptedData, encrypt_iv: d.iv } });
	});
}

/* showError(err, title): the failure's message in a modal; resolves when closed. */
function showError(err, title) {
	return call('showModal', {
		title: title || '提示',
		content: (err && err.message) || '请求失败，请稍后再试',
		showCancel: false
	});
}

module.exports = {
	init: init,
	url: url,
	login: login,
	ensureLogin: ensureLogin,
	hasSession: hasSession,
	request: request,
	logout: logout,
	uploadAvatar: uploadAvatar,
	updateProfile: updateProfile,
	updateProfileLegacy: updateProfileLegacy,
	bindPhone: bindPhone,
	showError: showError
};
