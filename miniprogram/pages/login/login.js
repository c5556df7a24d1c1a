/*
 * login.js -- the sample page: the login button, the profile form of the
 * current WeChat flow (a typed nickname, an avatar from chooseAvatar) and the
 * phone number button, all through wxauth.
 */
'use strict';

const wxauth = require('../../wxauth.js');

Page({
	data: { user: null, avatarPath: '', avatarSrc: '', busy: false },

	/* A stored session is reused (wxauth checks it first); else the button. */
	onLoad() {
		if (!wxauth.hasSession())
			return Promise.resolve();
		return wxauth.request({ url: '/api/user/info' })
		    .then((res) => this.showUser(res.user), () => {});
	},

	showUser(user) {
		this.setData({ user, avatarSrc: this.data.avatarPath ||
		    (user.avatar_url ? wxauth.url(user.avatar_url) : '') });
	},

	/* Run a call with the button busy; its failure goes to a modal. */
	busy(p, title) {
		this.setData({ busy: true });
		return p.catch((err) => wxauth.showError(err, title))
		    .then((r) => { this.setData({ busy: false }); return r; });
	},

	onLogin() {
		return this.busy(wxauth.login().then((res) => this.showUser(res.user)), '登录失败');
	},

	onChooseAvatar(e) {
		this.setData({ avatarPath: e.detail.avatarUrl, avatarSrc: e.detail.avatarUrl });
	},

	onSaveProfile(e) {
		const nickName = (e.detail.value.nickName || '').trim();
		if (!nickName)
			return wxauth.showError(new Error('请输入昵称'));
		return this.busy(wxauth.updateProfile({ nickName, avatarPath: this.data.avatarPath })
		    .then((res) => {
			this.setData({ avatarPath: '' });
			this.showUser(res.user);
			wx.showToast({ title: '已保存' });
		    }), '保存失败');
	},

	onGetPhoneNumber(e) {
		return wxauth.bindPhone(e).then((phone) => {
			this.setData({ 'user.phone_number': phone.phone_number });
			wx.showToast({ title: '绑定成功' });
		}, (err) => {
			if (err.slug !== 'user_denied')
				return wxauth.showError(err, '绑定失败');
		});
	}
});
