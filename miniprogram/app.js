/*
 * app.js -- the sample mini program: where wxauth is (make run serves on
 * 127.0.0.1:8080; in the developer tools, allow non-https domains for it).
 */
'use strict';

const wxauth = require('./wxauth.js');

App({
	onLaunch() {
		wxauth.init({ baseUrl: 'http://127.0.0.1:8080' });
	}
});
