/*
 * wxsim.js -- a `wx` object for Node, backed by the fake WeChat server and the
 * real wxauth stack: what miniprogram/wxauth.js calls, plus the button events
 * (getPhoneNumber, chooseAvatar) and getUserInfo data a page receives.
 *
 * One Sim is one WeChat user on one phone: an openid, WeChat's current
 * session_key for it, and the mini program's storage.  wx.login mints a real
 * code at the fake (for that openid and, while the session is valid, that
 * session_key: WeChat keeps it); wx.checkSession answers from `sessionValid`,
 * which the test sets.  wx.request and wx.uploadFile do real HTTP, the way
 * WeChat does (JSON bodies, GET data in the query string, multipart uploads
 * with the file as field `name`).  Every call is counted in `calls`.
 * Node standard library only; runs on Node 18.
 */
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const os = require('os');
const path = require('path');

const TMP_PREFIX = 'http://tmp/';	/* chooseAvatar's temporary paths */

/* One HTTP(S) exchange: {status, headers, body (Buffer)}. */
function exchange(url, method, headers, body, ca) {
	return new Promise((resolve, reject) => {
		const u = new URL(url);
		const mod = u.protocol === 'https:' ? https : http;
		const req = mod.request(u, { method, headers, ca, agent: false, timeout: 30000 }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
			    body: Buffer.concat(chunks) }));
			res.on('error', reject);
		});
		req.on('timeout', () => req.destroy(new Error('timeout')));
		req.on('error', reject);
		req.end(body);
	});
}

/* The control API of the fake WeChat server. */
class Fake {
	constructor(url, caFile) {
		this.url = url;
		this.ca = fs.readFileSync(caFile);
	}

	async call(p, body) {
		const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
		const r = await exchange(this.url + p, data ? 'POST' : 'GET',
		    data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
		    data, this.ca);
		if (r.status !== 200)
			throw new Error(`fake ${p}: ${r.status} ${r.body}`);
		return JSON.parse(r.body.toString('utf8'));
	}

	code(opts) { return this.call('/_fake/code', opts || {}); }
	phoneCode(opts) { return this.call('/_fake/phone_code', opts || {}); }
	encrypt(sessionKey, data) { return this.call('/_fake/encrypt', { session_key: sessionKey, data }); }
	setSessionKey(openid, sessionKey) {
		return this.call('/_fake/session_key', { openid, session_key: sessionKey });
	}
	stats() { return this.call('/_fake/stats'); }
}

/* WeChat's serialisation of wx.request's data for a query string or form. */
function formEncode(data) {
	if (typeof data === 'string')
		return data;
	return Object.keys(data || {}).map((k) =>
	    encodeURIComponent(k) + '=' + encodeURIComponent(String(data[k]))).join('&');
}

function headerValue(headers, name) {
	const k = Object.keys(headers || {}).find((h) => h.toLowerCase() === name);
	return k === undefined ? undefined : headers[k];
}

const MIME = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg',
    '.gif': 'image/gif', '.webp': 'image/webp' };

class Sim {
	constructor({ fake, appid }) {
		this.fake = fake;
		this.appid = appid;
		this.openid = null;		/* set by the first wx.login */
		this.sessionKey = null;		/* WeChat's current one for openid */
		this.sessionValid = false;	/* what wx.checkSession answers */
		this.nextLoginFault = null;	/* fault fields for the next minted code */
		this.hooks = {};		/* path -> async f(response data), before success */
		this.storage = new Map();
		this.tmpdir = null;		/* made for the first chosen avatar */
		this.calls = [];		/* {api, path?, status?, error?} */
		this.modals = [];
		this.profile = { nickName: '小明', gender: 1, language: 'zh_CN', city: 'Guangzhou',
		    province: 'Guangdong', country: 'China',
		    avatarUrl: 'https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132' };
		this.phone = { phoneNumber: '+8613912345678', purePhoneNumber: '13912345678',
		    countryCode: '86' };
	}

	/* How many calls of api (to path, when given) were made. */
	count(api, p) {
		return this.calls.filter((c) => c.api === api && (p === undefined || c.path === p)).length;
	}

	/* The calls made to path, in order. */
	requests(p) {
		return this.calls.filter((c) => c.path === p);
	}

	/* Run a wx-style API: the promise's outcome goes to success/fail/complete. */
	settle(opts, work) {
		work().then((res) => {
			if (opts.success) opts.success(res);
			if (opts.complete) opts.complete(res);
		}, (err) => {
			const res = { errMsg: String(err && err.message || err) };
			if (opts.fail) opts.fail(res);
			if (opts.complete) opts.complete(res);
		});
	}

	/* ---- the wx API ---- */

	login(opts) {
		this.calls.push({ api: 'login' });
		this.settle(opts, async () => {
			const req = Object.assign({}, this.nextLoginFault);
			this.nextLoginFault = null;
			if (this.openid)
				req.openid = this.openid;
			if (this.sessionValid && this.sessionKey)
				req.session_key = this.sessionKey;
			const c = await this.fake.code(req);
			this.openid = c.openid;
			this.sessionKey = c.session_key;
			this.sessionValid = true;
			return { code: c.code, errMsg: 'login:ok' };
		});
	}

	checkSession(opts) {
		this.calls.push({ api: 'checkSession' });
		this.settle(opts, async () => {
			if (!this.sessionValid)
				throw new Error('checkSession:fail session expired');
			return { errMsg: 'checkSession:ok' };
		});
	}

	request(opts) {
		const u = new URL(opts.url);
		const rec = { api: 'request', path: u.pathname, method: opts.method || 'GET',
		    header: Object.assign({}, opts.header), data: opts.data };
		this.calls.push(rec);
		this.settle(opts, async () => {
			const method = (opts.method || 'GET').toUpperCase();
			const header = Object.assign({}, opts.header);
			let body;
			if (method === 'GET') {
				const q = formEncode(opts.data);
				if (q)
					u.search += (u.search ? '&' : '') + q;
			} else {
				const ct = headerValue(header, 'content-type') || 'application/json';
				if (!headerValue(header, 'content-type'))
					header['Content-Type'] = ct;
				if (opts.data !== undefined)
					body = Buffer.from(/x-www-form-urlencoded/.test(ct) ? formEncode(opts.data) :
					    typeof opts.data === 'string' ? opts.data : JSON.stringify(opts.data));
				header['Content-Length'] = body ? body.length : 0;
			}
			const r = await exchange(u.href, method, header, body);
			rec.status = r.status;
			let data = r.body.toString('utf8');
			if ((opts.dataType || 'json') === 'json') {
				try {
					data = JSON.parse(data);
				} catch (e) { /* WeChat hands over the text */ }
			}
			rec.error = data && data.error;
			rec.msg = data && data.msg;
			if (this.hooks[rec.path])
				await this.hooks[rec.path](data);
			return { data, statusCode: r.status, header: r.headers, errMsg: 'request:ok' };
		});
	}

	uploadFile(opts) {
		const u = new URL(opts.url);
		const rec = { api: 'uploadFile', path: u.pathname, header: Object.assign({}, opts.header) };
		this.calls.push(rec);
		this.settle(opts, async () => {
			const file = this.tmpFile(opts.filePath);
			const content = fs.readFileSync(file);
			const boundary = '----WeChatFormBoundary' + crypto.randomBytes(12).toString('hex');
			const parts = [];
			for (const [k, v] of Object.entries(opts.formData || {}))
				parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; ` +
				    `name="${k}"\r\n\r\n${v}\r\n`));
			parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; ` +
			    `name="${opts.name}"; filename="${path.basename(file)}"\r\n` +
			    `Content-Type: ${MIME[path.extname(file)] || 'application/octet-stream'}\r\n\r\n`));
			parts.push(content, Buffer.from(`\r\n--${boundary}--\r\n`));
			const body = Buffer.concat(parts);
			const header = Object.assign({}, opts.header, {
				'Content-Type': 'multipart/form-data; boundary=' + boundary,
				'Content-Length': body.length
			});
			const r = await exchange(u.href, 'POST', header, body);
			rec.status = r.status;
			rec.body = r.body.toString('utf8');
			/* uploadFile, unlike request, hands over the body as text. */
			return { data: r.body.toString('utf8'), statusCode: r.status, errMsg: 'uploadFile:ok' };
		});
	}

	getUserInfo(opts) {
		this.calls.push({ api: 'getUserInfo' });
		this.settle(opts, async () => {
			const userInfo = Object.assign({}, this.profile);
			const rawData = JSON.stringify(userInfo);
			const signature = crypto.createHash('sha1').update(rawData + this.sessionKey)
			    .digest('hex');
			const enc = await this.fake.encrypt(this.sessionKey, Object.assign({ openId: this.openid },
			    userInfo, { watermark: this.watermark() }));
			return { userInfo, rawData, signature, encryptedData: enc.encrypted_data, iv: enc.iv,
			    errMsg: 'getUserInfo:ok' };
		});
	}

	getStorageSync(k) {
		return this.storage.has(k) ? this.storage.get(k) : '';
	}

	setStorageSync(k, v) {
		this.storage.set(k, v);
	}

	removeStorageSync(k) {
		this.storage.delete(k);
	}

	showModal(opts) {
		this.calls.push({ api: 'showModal' });
		this.modals.push({ title: opts.title, content: opts.content });
		this.settle(opts, async () => ({ confirm: true, cancel: false, errMsg: 'showModal:ok' }));
	}

	showToast(opts) {
		this.calls.push({ api: 'showToast' });
		this.settle(opts, async () => ({ errMsg: 'showToast:ok' }));
	}

	/* ---- what the test does to the world ---- */

	watermark() {
		return { appid: this.appid, timestamp: Math.floor(Date.now() / 1000) };
	}

	/* WeChat gives the user a new session_key (a wx.login elsewhere). */
	async rotateSessionKey() {
		this.sessionKey = crypto.randomBytes(16).toString('base64');
		await this.fake.setSessionKey(this.openid, this.sessionKey);
	}

	/* The bindgetphonenumber event: with a code (current WeChat), with
	 * encrypted data only (older base libraries), or the user's refusal. */
	async phoneEvent(kind) {
		if (kind === 'deny')
			return { type: 'getphonenumber', detail: { errMsg: 'getPhoneNumber:fail user deny' } };
		if (kind === 'code') {
			const c = await this.fake.phoneCode({ phone_number: this.phone.phoneNumber,
			    country_code: this.phone.countryCode });
			return { type: 'getphonenumber', detail: { errMsg: 'getPhoneNumber:ok', code: c.code } };
		}
		const enc = await this.fake.encrypt(this.sessionKey,
		    Object.assign({}, this.phone, { watermark: this.watermark() }));
		return { type: 'getphonenumber',
		    detail: { errMsg: 'getPhoneNumber:ok', encryptedData: enc.encrypted_data, iv: enc.iv } };
	}

	/* The bindchooseavatar event for an image: avatarUrl is a temporary path. */
	chooseAvatarEvent(bytes, ext) {
		const name = 'tmp_' + crypto.randomBytes(8).toString('hex') + ext;
		this.tmpdir = this.tmpdir || fs.mkdtempSync(path.join(os.tmpdir(), 'wxsim-'));
		fs.writeFileSync(path.join(this.tmpdir, name), bytes);
		return { type: 'chooseavatar', detail: { avatarUrl: TMP_PREFIX + name } };
	}

	tmpFile(p) {
		if (!this.tmpdir || !p || !p.startsWith(TMP_PREFIX))
			throw new Error('uploadFile:fail file not found');
		return path.join(this.tmpdir, path.basename(p));
	}

	cleanup() {
		if (this.tmpdir)
			fs.rmSync(this.tmpdir, { recursive: true, force: true });
		this.tmpdir = null;
	}
}

module.exports = { Sim, Fake, exchange };
