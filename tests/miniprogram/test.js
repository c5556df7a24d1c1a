/*
 * test.js -- miniprogram/wxauth.js under Node, against the real stack and the
 * fake WeChat (started by run.py), through the wx simulator (wxsim.js): the
 * seed's journeys end to end and the ways they go wrong.
 *
 * Environment: WXAUTH_BASE_URL (the stack), WXAUTH_TTL_BASE_URL (a pool whose
 * sessions last 2 s), WXAUTH_FAKE_URL + WXAUTH_FAKE_CA (the fake WeChat and
 * its test CA), WXAUTH_APPID.  One line per journey; the last line is
 * "miniprogram: N passed, M failed"; exits 1 on any failure.
 * Node standard library only; runs on Node 18.
 */
'use strict';

const crypto = require('crypto');
const path = require('path');
const zlib = require('zlib');
const { Sim, Fake, exchange } = require('./wxsim.js');

const MODULE = path.join(__dirname, '..', '..', 'miniprogram', 'wxauth.js');
const BASE = process.env.WXAUTH_BASE_URL;
const TTL_BASE = process.env.WXAUTH_TTL_BASE_URL;
const fake = new Fake(process.env.WXAUTH_FAKE_URL, process.env.WXAUTH_FAKE_CA);
const APPID = process.env.WXAUTH_APPID;
const INFO = '/api/user/info';
const AUTH = '/api/user/auth_login';
const CHECK = '/api/user/check_session';
const PHONE = '/api/user/bind_wx_phone_number';
const UPDATE = '/api/user/update_base_info';
const JOURNEY_TIMEOUT_MS = 60000;

let problems = [];	/* the current journey's failed checks */

function check(cond, what) {
	if (!cond) {
		problems.push(what);
		console.log('FAIL: ' + what);
	}
}

/* A mini program launch: a fresh module instance (its memory is empty, the
 * storage is the phone's) on the global wx, as in a mini program. */
function launch(sim, baseUrl) {
	delete require.cache[require.resolve(MODULE)];
	global.wx = sim;
	const m = require(MODULE);
	m.init({ baseUrl: baseUrl || BASE });
	return m;
}

function newSim() {
	return new Sim({ fake, appid: APPID });
}

/* The rejection of p (an Error), or null (and a failed check) if it resolved. */
async function rejection(p, what) {
	try {
		await p;
	} catch (err) {
		check(err instanceof Error, what + ': rejects with an Error');
		return err;
	}
	check(false, what + ': should have been rejected');
	return {};
}

/* The test's own call to the server, outside the mini program. */
async function server(method, p, cookies) {
	const r = await exchange(BASE + p, method,
	    Object.assign({ 'Content-Length': 0 }, cookies ? { Cookie: cookies } : {}));
	return { status: r.status, headers: r.headers, body: r.body };
}

function wxCall(sim, name, opts) {
	return new Promise((resolve, reject) =>
	    sim[name](Object.assign({}, opts, { success: resolve, fail: reject })));
}

/* A small real PNG: w x h pixels of random colours. */
function png(w, h) {
	const crcTable = [];
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		crcTable[n] = c >>> 0;
	}
	const crc32 = (buf) => {
		let c = 0xffffffff;
		for (const b of buf)
			c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
		return (c ^ 0xffffffff) >>> 0;
	};
	const chunk = (type, data) => {
		const out = Buffer.alloc(12 + data.length);
		out.writeUInt32BE(data.length, 0);
		out.write(type, 4, 'latin1');
		data.copy(out, 8);
		out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
		return out;
	};
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(w, 0);
	ihdr.writeUInt32BE(h, 4);
	ihdr[8] = 8;		/* bit depth */
	ihdr[9] = 2;		/* truecolour RGB */
	const rows = [];
	for (let y = 0; y < h; y++)
		rows.push(Buffer.from([0]), crypto.randomBytes(w * 3));
	return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr),
	    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

/* ---- journeys --------------------------------------------------------------- */

/* The seed, end to end: wx.login -> auth_login, cookies stored, the user's
 * info through the wrapper with the cookies, then getUserInfo's data (the
 * legacy profile flow) as encryptedData + iv and as rawData + signature. */
async function seed_first_login() {
	const sim = newSim();
	const w = launch(sim);
	const res = await w.login();
	check(res.is_new_user === true, 'first login is_new_user');
	check(res.user && res.user.openid === sim.openid, 'the user is the WeChat user');
	check(sim.getStorageSync('cookies') === 'sid=' + res.token, "storage 'cookies' is sid=<token>");
	check(sim.getStorageSync('wxauth_token') === res.token, 'the token is stored');
	const info = await w.request({ url: INFO });
	check(info.user.id === res.user.id, 'info through the wrapper');
	check(sim.requests(INFO)[0].header.Cookie === 'sid=' + res.token,
	    'the wrapper sends Cookie: sid=<token>');
	check(sim.count('login') === 1 && sim.count('request', AUTH) === 1, 'one login');

	const gi = await wxCall(sim, 'getUserInfo', { withCredentials: true });
	const u1 = await w.updateProfileLegacy(gi);
	check(u1.user.nick_name === sim.profile.nickName && u1.user.city === sim.profile.city &&
	    u1.user.gender === sim.profile.gender, 'profile from encryptedData: ' + JSON.stringify(u1));
	check(sim.requests(UPDATE)[0].data.encrypt_iv === gi.iv, 'sent as encrypted_data + encrypt_iv');

	sim.profile.nickName = '小红';
	const gi2 = await wxCall(sim, 'getUserInfo', { withCredentials: true });
	delete gi2.encryptedData;
	delete gi2.iv;
	const u2 = await w.updateProfileLegacy(gi2);
	check(u2.user.nick_name === '小红', 'profile from rawData + signature');
	check(sim.requests(UPDATE)[1].data.signature === gi2.signature, 'sent as raw_data + signature');
	check(sim.count('login') === 1, 'still one login');
}

/* The next launch reuses the stored token after wx.checkSession and the
 * server's check_session, once per launch; no new login. */
async function second_launch_reuses_token() {
	const sim = newSim();
	const first = await launch(sim).login();
	const w = launch(sim);
	const token = await w.ensureLogin();
	check(token === first.token, 'the stored token is reused');
	check(sim.count('checkSession') === 1, 'wx.checkSession asked');
	check(sim.count('request', CHECK) === 1, 'the server asked (check_session)');
	check(sim.requests(CHECK)[0].status === 200, 'check_session said yes');
	await w.request({ url: INFO });
	await w.request({ url: INFO });
	check(sim.count('checkSession') === 1 && sim.count('request', CHECK) === 1,
	    'checked once per launch');
	const w3 = launch(sim);
	const info = await w3.request({ url: INFO });
	check(info.user.id === first.user.id, 'a launch straight into request()');
	check(sim.count('checkSession') === 2 && sim.count('request', CHECK) === 2, 'checked again');
	check(sim.count('login') === 1 && sim.count('request', AUTH) === 1, 'never logged in again');
}

/* Two pages at once: one wx.login, one auth_login, one jscode2session. */
async function concurrent_login_is_one() {
	const sim = newSim();
	const w = launch(sim);
	const s0 = (await fake.stats()).jscode2session;
	const [a, b] = await Promise.all([w.login(), w.login()]);
	check(a.token === b.token, 'both pages get the same login');
	check(sim.count('login') === 1, 'one wx.login: ' + sim.count('login'));
	check(sim.count('request', AUTH) === 1, 'one auth_login: ' + sim.count('request', AUTH));
	const s1 = (await fake.stats()).jscode2session;
	check(s1 - s0 === 1, 'one jscode2session at WeChat: ' + (s1 - s0));

	/* Two pages of a new user calling the API at once. */
	const sim2 = newSim();
	const w2 = launch(sim2);
	const [i1, i2] = await Promise.all([w2.request({ url: INFO }), w2.request({ url: INFO })]);
	check(i1.user.id === i2.user.id, 'both requests answered for the same user');
	check(sim2.count('login') === 1 && sim2.count('request', AUTH) === 1,
	    'one login for two first requests');
	check((await fake.stats()).jscode2session - s1 === 1, 'one more jscode2session');

	/* And on its next launch, one check of the stored token for both. */
	const w3 = launch(sim2);
	await Promise.all([w3.request({ url: INFO }), w3.request({ url: INFO }), w3.ensureLogin()]);
	check(sim2.count('checkSession') === 1 && sim2.count('request', CHECK) === 1,
	    'one checkSession and one check_session for three callers');
	check(sim2.count('login') === 1, 'no login');
}

/* WeChat rotated the session_key (a wx.login elsewhere): the phone's
 * encryptedData does not decrypt with the server's key; one re-login gives the
 * server WeChat's current key and the retry binds the number. */
async function rotated_session_key_one_relogin() {
	const sim = newSim();
	const w = launch(sim);
	const first = await w.login();
	await sim.rotateSessionKey();
	const e = await sim.phoneEvent('encrypted');
	const p = await w.bindPhone(e);
	check(p.phone_number === sim.phone.phoneNumber && p.pure_phone_number === sim.phone.purePhoneNumber &&
	    p.country_code === '86', 'the number is bound: ' + JSON.stringify(p));
	const binds = sim.requests(PHONE);
	check(binds.length === 2 && binds[0].error === 'decrypt_failed' && binds[1].status === 200,
	    'decrypt_failed, then the retry: ' + JSON.stringify(binds.map((r) => r.status)));
	check(sim.count('login') === 2 && sim.count('request', AUTH) === 2, 'exactly one re-login');
	const info = await w.request({ url: INFO });
	check(info.user.phone_number === sim.phone.phoneNumber, 'stored on the user');
	check((await server('GET', INFO, first.cookies)).status === 401,
	    'the re-login revoked the old token');

	/* Data no key opens: one re-login, one retry, then decrypt_failed. */
	const enc = await fake.encrypt(crypto.randomBytes(16).toString('base64'),
	    Object.assign({}, sim.phone, { watermark: sim.watermark() }));
	const err = await rejection(w.bindPhone({ detail: { errMsg: 'getPhoneNumber:ok',
	    encryptedData: enc.encrypted_data, iv: enc.iv } }), 'undecryptable data');
	check(err.slug === 'decrypt_failed' && err.status === 400, 'decrypt_failed surfaced: ' + err.slug);
	check(err.message === sim.requests(PHONE).pop().msg, "the server's message");
	check(sim.count('login') === 3, 'one re-login only: ' + sim.count('login'));
	check(sim.requests(PHONE).length === 4, 'one retry only');
}

/* A token revoked on the server (logged out on the side): the wrapper gets a
 * 401, logs in again once and the call succeeds. */
async function revoked_token_relogin() {
	const sim = newSim();
	const w = launch(sim);
	const first = await w.login();
	const out = await server('POST', '/api/user/logout', first.cookies);
	check(out.status === 200, 'logged out on the side');
	const info = await w.request({ url: INFO });
	check(info.user.id === first.user.id, 'the call succeeds');
	const infos = sim.requests(INFO);
	check(infos.length === 2 && infos[0].error === 'unauthorized' && infos[1].status === 200,
	    '401, then the retry');
	check(sim.count('login') === 2 && sim.count('request', AUTH) === 2, 'one re-login');
	check(sim.getStorageSync('wxauth_token') !== first.token, 'the new token is stored');

	/* Two pages get a 401 for the same token, the second after the first
	 * page's re-login is over: that page uses the new token, no second login. */
	await server('POST', '/api/user/logout', sim.getStorageSync('cookies'));
	let late = 0;
	sim.hooks[INFO] = (data) => data.error && late++ === 1 ?
	    new Promise((r) => setTimeout(r, 500)) : null;
	const both = await Promise.all([w.request({ url: INFO }), w.request({ url: INFO })]);
	sim.hooks[INFO] = null;
	check(both[0].user.id === first.user.id && both[1].user.id === first.user.id, 'both succeed');
	check(late === 2 && sim.count('login') === 3, 'one re-login for both: ' + sim.count('login'));

	/* A token that dies again at once: one re-login, one retry, then unauthorized. */
	sim.hooks[AUTH] = (data) => server('POST', '/api/user/logout', data.res.cookies);
	await server('POST', '/api/user/logout', sim.getStorageSync('cookies'));
	const err = await rejection(w.request({ url: INFO }), 'always revoked');
	check(err.slug === 'unauthorized' && err.status === 401, 'unauthorized surfaced: ' + err.slug);
	check(sim.count('login') === 4 && sim.requests(INFO).length === 8, 'retried once, not more');
}

/* A session that expired by itself (a pool with a 2 s lifetime). */
async function expired_token_relogin() {
	const sim = newSim();
	const w = launch(sim, TTL_BASE);
	const first = await w.login();
	check(first.expires_in === 2, 'the short-lived pool: ' + first.expires_in);
	await new Promise((r) => setTimeout(r, 2500));
	const info = await w.request({ url: INFO });
	check(info.user.id === first.user.id, 'the call succeeds after expiry');
	check(sim.requests(INFO)[0].error === 'unauthorized', 'the first try was 401');
	check(sim.count('login') === 2, 'one re-login');
}

/* wx.checkSession fails (WeChat's session_key expired): the next launch logs
 * in again instead of reusing the token; the server's check_session failing
 * does the same. */
async function check_session_fail_relogin() {
	const sim = newSim();
	const first = await launch(sim).login();
	sim.sessionValid = false;
	const w = launch(sim);
	const token = await w.ensureLogin();
	check(token !== first.token, 'a new token');
	check(sim.count('checkSession') === 1 && sim.count('login') === 2, 'checkSession failed, wx.login');
	check(sim.count('request', CHECK) === 0, 'a dead session_key is not worth asking the server');
	check((await server('GET', INFO, first.cookies)).status === 401, 'the old token is revoked');
	check((await w.request({ url: INFO })).user.id === first.user.id, 'the same user');

	await server('POST', '/api/user/logout', 'sid=' + token);
	const w3 = launch(sim);
	const t3 = await w3.ensureLogin();
	check(sim.requests(CHECK).length === 1 && sim.requests(CHECK)[0].error === 'unauthorized',
	    'check_session said no');
	check(t3 !== token && sim.count('login') === 3, 'so logged in again');
	check((await w3.request({ url: INFO })).user.id === first.user.id, 'and it works');
}

/* The phone button, current flow: e.detail.code, preferred over encrypted data. */
async function bind_phone_code() {
	const sim = newSim();
	const w = launch(sim);
	await w.login();
	const e = await sim.phoneEvent('code');
	const enc = await sim.phoneEvent('encrypted');
	e.detail.encryptedData = enc.detail.encryptedData;
	e.detail.iv = enc.detail.iv;
	const p = await w.bindPhone(e);
	check(p.phone_number === sim.phone.phoneNumber && p.country_code === '86', 'bound by code');
	const sent = sim.requests(PHONE);
	check(sent.length === 1 && sent[0].method === 'POST' &&
	    JSON.stringify(sent[0].data) === JSON.stringify({ code: e.detail.code }), 'only the code sent');
}

/* The user declines: a clear rejection and no request at all. */
async function phone_denied_no_request() {
	const sim = newSim();
	const w = launch(sim);
	await w.login();
	const n = sim.calls.length;
	const err = await rejection(w.bindPhone(await sim.phoneEvent('deny')), 'denied');
	check(err.slug === 'user_denied' && err.status === 0 && err.message.length > 0,
	    'user_denied: ' + err.slug);
	check(sim.calls.length === n, 'no wx call, no request');
}

/* Server errors arrive as err.slug/status with the server's msg, and
 * showError puts that msg in wx.showModal. */
async function server_errors_shown() {
	const sim = newSim();
	const w = launch(sim);
	await w.login();
	const e = await sim.phoneEvent('code');
	await w.bindPhone(e);
	const err = await rejection(w.bindPhone(e), 'a used phone code');
	check(err.slug === 'invalid_code' && err.status === 400, 'invalid_code: ' + err.slug);
	const msg = sim.requests(PHONE).pop().msg;
	check(typeof msg === 'string' && /[\u4e00-\u9fff]/.test(msg) && err.message === msg,
	    "the server's message: " + err.message);
	await w.showError(err);
	check(sim.modals.length === 1 && sim.modals[0].content === msg, 'shown in wx.showModal');

	const sim2 = newSim();
	sim2.nextLoginFault = { errcode: 40226 };
	const w2 = launch(sim2);
	const e2 = await rejection(w2.login(), 'a blocked user');
	check(e2.slug === 'blocked_user' && e2.status === 403, 'blocked_user: ' + e2.slug);
	await w2.showError(e2, '登录失败');
	check(sim2.modals[0].title === '登录失败' && sim2.modals[0].content === e2.message &&
	    e2.message === sim2.requests(AUTH)[0].msg, 'its message shown');
	check(!sim2.getStorageSync('wxauth_token'), 'nothing stored');
}

/* logout(): the session ends on the server and on the phone. */
async function logout_then_login() {
	const sim = newSim();
	const w = launch(sim);
	const first = await w.login();
	await w.logout();
	check(!sim.getStorageSync('cookies') && !sim.getStorageSync('wxauth_token'), 'storage cleared');
	check((await server('GET', INFO, first.cookies)).status === 401, 'the token is dead');
	const info = await w.request({ url: INFO });
	check(info.user.id === first.user.id && sim.count('login') === 2, 'the next call logs in');
}

/* The current profile flow, nickname only (no avatar chosen). */
async function update_profile_nickname() {
	const sim = newSim();
	const w = launch(sim);
	await w.login();
	const r = await w.updateProfile({ nickName: '阿强', gender: 2 });
	check(r.user.nick_name === '阿强' && r.user.gender === 2, 'typed nickname stored');
	check(JSON.stringify(sim.requests(UPDATE)[0].data) === JSON.stringify({ nick_name: '阿强', gender: 2 }),
	    'plain fields only');
	check(sim.count('uploadFile') === 0, 'nothing uploaded');
}

/* The current profile flow with an avatar from <button open-type="chooseAvatar">:
 * the temporary file is uploaded (multipart, field file), then the nickname and
 * the avatar's URL are saved; the image is served back. */
async function update_profile_avatar() {
	const sim = newSim();
	const w = launch(sim);
	const first = await w.login();
	const image = png(8, 8);
	const ev = sim.chooseAvatarEvent(image, '.png');
	let r;
	try {
		r = await w.updateProfile({ nickName: '小李', avatarPath: ev.detail.avatarUrl });
	} finally {
		sim.cleanup();
	}
	const up = sim.calls.filter((c) => c.api === 'uploadFile');
	check(up.length === 1 && up[0].path === '/api/user/avatar' && up[0].status === 200,
	    'uploaded: ' + JSON.stringify(up.map((u) => [u.status, u.body])));
	check(up[0].header.Cookie === first.cookies, 'with the cookies');
	check(r.user.nick_name === '小李', 'nickname stored');
	check(/^\/api\/avatar\/[A-Za-z0-9_-]+$/.test(r.user.avatar_url || ''), 'avatar_url: ' + r.user.avatar_url);
	check(sim.requests(UPDATE)[0].data.avatar_url === r.user.avatar_url, 'the upload\'s URL saved');
	const img = await server('GET', r.user.avatar_url);
	check(img.status === 200 && img.headers['content-type'] === 'image/png' && img.body.equals(image),
	    'the image is served back: ' + img.status + ' ' + img.headers['content-type']);
}

/* The sample page (miniprogram/pages/login) driven as WeChat would drive it. */
function openPage(sim) {
	const file = path.join(__dirname, '..', '..', 'miniprogram', 'pages', 'login', 'login.js');
	let def;
	global.Page = (d) => { def = d; };
	delete require.cache[require.resolve(file)];
	require(file);
	return Object.assign({}, def, {
		data: JSON.parse(JSON.stringify(def.data)),
		setData(d) {		/* 'a.b' keys set one level down, as in WeChat */
			for (const [k, v] of Object.entries(d)) {
				const [a, b] = k.split('.');
				if (b === undefined)
					this.data[a] = v;
				else
					this.data[a] = Object.assign({}, this.data[a], { [b]: v });
			}
		}
	});
}

async function sample_page() {
	const sim = newSim();
	launch(sim);
	let page = openPage(sim);
	await page.onLoad();
	check(page.data.user === null && sim.count('login') === 0, 'a new phone sees the login button');
	await page.onLogin();
	check(page.data.user && page.data.user.openid === sim.openid, 'logged in by the button');

	await page.onSaveProfile({ detail: { value: { nickName: '  ' } } });
	check(sim.modals.length === 1 && sim.count('request', UPDATE) === 0, 'an empty nickname is refused');
	page.onChooseAvatar(sim.chooseAvatarEvent(png(4, 4), '.png'));
	await page.onSaveProfile({ detail: { value: { nickName: ' 页面用户 ' } } });
	sim.cleanup();
	check(page.data.user.nick_name === '页面用户', 'the nickname saved: ' + page.data.user.nick_name);
	check(page.data.avatarSrc === BASE + page.data.user.avatar_url && sim.count('uploadFile') === 1,
	    'the avatar uploaded and shown: ' + page.data.avatarSrc);

	const n = sim.calls.length;
	await page.onGetPhoneNumber(await sim.phoneEvent('deny'));
	check(sim.calls.length === n, 'a refusal: no request, no modal');
	await page.onGetPhoneNumber(await sim.phoneEvent('code'));
	check(page.data.user.phone_number === sim.phone.phoneNumber, 'the phone shown');
	check(sim.count('showToast') === 2 && sim.modals.length === 1, 'two toasts, no error');

	launch(sim);
	page = openPage(sim);
	await page.onLoad();
	check(page.data.user && page.data.user.phone_number === sim.phone.phoneNumber &&
	    sim.count('login') === 1, 'the next launch shows the user without logging in');
	delete global.Page;
}

const JOURNEYS = [seed_first_login, second_launch_reuses_token, concurrent_login_is_one,
    rotated_session_key_one_relogin, revoked_token_relogin, expired_token_relogin,
    check_session_fail_relogin, bind_phone_code, phone_denied_no_request, server_errors_shown,
    logout_then_login, update_profile_nickname, update_profile_avatar, sample_page];

async function main() {
	let passed = 0;
	let failed = 0;
	const only = process.argv.slice(2);
	for (const j of JOURNEYS) {
		if (only.length && !only.includes(j.name))
			continue;
		problems = [];
		const t0 = Date.now();
		let timer;
		try {
			await Promise.race([j(), new Promise((_, reject) => {
				timer = setTimeout(() => reject(new Error('timed out')), JOURNEY_TIMEOUT_MS);
			})]);
		} catch (err) {
			check(false, j.name + ' raised: ' + (err && err.stack || err) +
			    (err && err.slug ? ' (slug ' + err.slug + ', status ' + err.status + ')' : ''));
		}
		clearTimeout(timer);
		if (problems.length)
			failed++;
		else
			passed++;
		console.log('  %s %s (%ss)', j.name.padEnd(34), problems.length ? 'FAILED' : 'ok',
		    ((Date.now() - t0) / 1000).toFixed(1));
	}
	console.log('miniprogram: %d passed, %d failed', passed, failed);
	return failed === 0 && passed > 0 ? 0 : 1;
}

main().then((rc) => { process.exitCode = rc; });
