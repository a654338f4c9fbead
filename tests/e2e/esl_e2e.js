// SPDX-License-Identifier: Apache-2.0
// ESL scenarios for esl_e2e.sh, run against evrd's event socket with
// modesl (FreeSWITCH's Node ESL client, unchanged) and one raw TCP client.
//
//   node esl_e2e.js HOST PORT PASSWORD EVRCTL SOCKET
//
// Prints one line per assertion, "RESULT ok|fail <what> [-- detail]",
// which esl_e2e.sh turns into PASS/FAIL; exits 0 once every scenario ran
// (whatever their outcome), 1 on an internal error. Every wait is bounded.
'use strict';
const net = require('net');
const { execFileSync } = require('child_process');
const esl = require('modesl');

const [host, portS, password, evrctl, sock] = process.argv.slice(2);
const port = parseInt(portS, 10);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function result(ok, what, detail) {
	process.stdout.write(`RESULT ${ok ? 'ok' : 'fail'} ${what}${detail ? ' -- ' + detail : ''}\n`);
}
function ctlJson(...args) {
	return JSON.parse(execFileSync(evrctl, ['-s', sock, '--json', '--timeout', '5', ...args],
		{ encoding: 'utf8' }));
}
function stat(name) {
	const c = ctlJson('stats').control || {};
	return c[name];
}
function eslList() {
	return ctlJson('esl').clients || [];
}

// connect: resolves with the connection once modesl reports ready (auth
// accepted and its own `event json BACKGROUND_JOB CHANNEL_EXECUTE_COMPLETE`
// answered); every event it gets is kept in conn.got.
function connect(pw, name) {
	return new Promise((resolve, reject) => {
		let done = false;
		const t = setTimeout(() => { if (!done) { done = true; reject(new Error(`${name}: no ready in 5 s`)); } }, 5000);
		const conn = new esl.Connection(host, port, pw, () => {
			if (done) return;
			done = true;
			clearTimeout(t);
			resolve(conn);
		});
		conn.got = [];
		conn.ended = false;
		conn.name = name;
		conn.on('error', (e) => { if (!done) { done = true; clearTimeout(t); reject(e); } });
		conn.on('esl::end', () => { conn.ended = true; });
		conn.on('esl::event::auth::fail', () => {
			if (!done) { done = true; clearTimeout(t); reject(new Error('auth failed')); }
		});
		conn.on('esl::event::**', function (evt, headers) {
			const ct = headers && headers['Content-Type'];
			if (ct && ct.startsWith('text/event-'))
				conn.got.push({ ct, evt, at: Date.now() });
		});
	});
}
const cmd = (conn, f, ...a) => new Promise((resolve) => f.call(conn, ...a, resolve));
const reply = (evt) => (evt && evt.getHeader('Reply-Text')) || '';

async function waitFor(pred, ms) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		const v = pred();
		if (v) return v;
		await sleep(20);
	}
	return pred();
}
const named = (conn, sub) => conn.got.filter((g) => g.evt.getHeader('Event-Subclass') === sub);

function custom(sub, headers, body) {
	const e = new esl.Event('CUSTOM', sub);
	for (const [k, v] of Object.entries(headers || {})) e.addHeader(k, v);
	if (body) e.addBody(body);
	return e;
}

async function main() {
	const all = [];
	// 1. auth
	let A, B;
	try {
		A = await connect(password, 'A');
		B = await connect(password, 'B');
		all.push(A, B);
		result(true, 'modesl connects and authenticates (ready callback) with the right password');
	} catch (e) {
		result(false, 'modesl connects and authenticates with the right password', String(e));
		return;
	}
	const failedBefore = stat('esl_auth_failed');
	const bad = await new Promise((resolve) => {
		const r = { fail: null, end: false, ready: false };
		const c = new esl.Connection(host, port, 'wrong-' + password, () => { r.ready = true; });
		c.on('error', () => {});
		c.on('esl::event::auth::fail', (evt) => { r.fail = reply(evt); });
		c.on('esl::end', () => { r.end = true; resolve(r); });
		setTimeout(() => resolve(r), 5000);
	});
	result(!bad.ready && bad.fail === '-ERR invalid' && bad.end,
		'a wrong password gets "-ERR invalid" and the connection is closed',
		`reply '${bad.fail}', closed ${bad.end}, ready ${bad.ready}`);
	await sleep(100);
	const failedAfter = stat('esl_auth_failed');
	result(failedAfter === failedBefore + 1, 'control.esl_auth_failed counts the failed auth',
		`${failedBefore} -> ${failedAfter}`);

	// 2. CUSTOM plain with header and body, sent by another modesl connection
	const r2 = await cmd(A, A.events, 'plain', 'CUSTOM evr::test');
	result(reply(r2).startsWith('+OK event listener enabled plain'), 'event plain CUSTOM evr::test accepted', reply(r2));
	const value = 'café & more 100%';
	const body = 'line one\nline two: x\n';
	const s2 = await cmd(B, B.sendEvent, custom('evr::test', { 'X-Evr-Test': value }, body));
	result(/^\+OK [0-9a-f-]{36}$/.test(reply(s2)), 'sendevent CUSTOM evr::test answers +OK <uuid>', reply(s2));
	const got2 = await waitFor(() => named(A, 'evr::test')[0], 3000);
	result(!!got2 && got2.ct === 'text/event-plain' && got2.evt.getHeader('X-Evr-Test') === value &&
		got2.evt.getBody() === body,
		'the subscriber gets the CUSTOM event in plain with header value (URL-decoded) and body intact',
		got2 ? `header '${got2.evt.getHeader('X-Evr-Test')}', body ${JSON.stringify(got2.evt.getBody())}` : 'nothing in 3 s');
	result(named(B, 'evr::test').length === 0, 'the sender (not subscribed) gets nothing',
		`${named(B, 'evr::test').length}`);

	// HEARTBEAT in json
	const C = await connect(password, 'C');
	all.push(C);
	const r2b = await cmd(C, C.events, 'json', 'HEARTBEAT');
	const t0 = Date.now();
	const hb = await waitFor(() => C.got.find((g) => g.evt.getHeader('Event-Name') === 'HEARTBEAT'), 3000);
	result(reply(r2b).startsWith('+OK') && !!hb && hb.ct === 'text/event-json' && !!hb.evt.getHeader('Up-Time'),
		'event json HEARTBEAT: a HEARTBEAT within 3 s, json, with Up-Time',
		hb ? `after ${hb.at - t0} ms, Up-Time '${hb.evt.getHeader('Up-Time')}'` : `nothing (${reply(r2b)})`);

	// 3. filter
	const D = await connect(password, 'D');
	all.push(D);
	await cmd(D, D.events, 'plain', 'CUSTOM evr::f');
	const rf = await cmd(D, D.filter, 'Foo', 'bar');
	const filteredBefore = stat('esl_events_filtered');
	await cmd(B, B.sendEvent, custom('evr::f', { Foo: 'baz', Seq: '1' }));
	await cmd(B, B.sendEvent, custom('evr::f', { Foo: 'bar', Seq: '2' }));
	await waitFor(() => named(D, 'evr::f').length >= 1, 3000);
	await sleep(300);
	const fs = named(D, 'evr::f').map((g) => `${g.evt.getHeader('Foo')}/${g.evt.getHeader('Seq')}`);
	result(reply(rf).startsWith('+OK') && fs.length === 1 && fs[0] === 'bar/2',
		'filter Foo bar: the Foo: bar event arrives, the Foo: baz one does not', `${reply(rf)}; got [${fs}]`);
	const filteredAfter = stat('esl_events_filtered');
	result(filteredAfter > filteredBefore, 'control.esl_events_filtered grows', `${filteredBefore} -> ${filteredAfter}`);

	// 4. nixevent after ALL
	const E = await connect(password, 'E');
	all.push(E);
	await cmd(E, E.events, 'plain', 'ALL');
	const hbBefore = await waitFor(() => E.got.some((g) => g.evt.getHeader('Event-Name') === 'HEARTBEAT'), 3000);
	const rn = await cmd(E, E.sendRecv, 'nixevent HEARTBEAT');
	const nixAt = Date.now();
	await cmd(B, B.sendEvent, custom('evr::n', { N: '1' }));
	await sleep(2500);
	const hbAfter = E.got.filter((g) => g.at > nixAt && g.evt.getHeader('Event-Name') === 'HEARTBEAT').length;
	result(!!hbBefore && reply(rn).startsWith('+OK') && hbAfter === 0,
		'event plain ALL then nixevent HEARTBEAT: HEARTBEATs before, none in the next 2.5 s',
		`before ${!!hbBefore}, reply '${reply(rn)}', after ${hbAfter}`);
	result(named(E, 'evr::n').length === 1, 'after nixevent HEARTBEAT a CUSTOM event still arrives',
		`${named(E, 'evr::n').length}`);

	// 5. api / bgapi status
	const api = await new Promise((resolve) => { A.api('status', resolve); setTimeout(() => resolve(null), 3000); });
	const apiBody = api ? api.getBody() || '' : '';
	result(apiBody.startsWith('UP '), 'api status: api/response body starts with "UP "', JSON.stringify(apiBody.slice(0, 60)));
	// modesl's bgapi sends "bgapi status" with a Job-UUID header of its own
	// and waits for BACKGROUND_JOB with that Job-UUID, which FreeSWITCH
	// honours (mod_event_socket parse_command: the "job-uuid" header).
	const jobId = '5a1e0b9a-7d5c-4c1e-9a53-e2e0000000' + String(process.pid % 100).padStart(2, '0');
	const bgAt = Date.now();
	const bg = await new Promise((resolve) => { C.bgapi('status', '', jobId, resolve); setTimeout(() => resolve(null), 3000); });
	const anyBg = C.got.find((g) => g.at >= bgAt && g.evt.getHeader('Event-Name') === 'BACKGROUND_JOB');
	const anyBody = anyBg ? anyBg.evt.getBody() || '' : '';
	result(!!anyBg && anyBg.evt.getHeader('Job-Command') === 'status' && anyBody.startsWith('UP '),
		'bgapi status: a BACKGROUND_JOB event (Job-Command status) with the status body follows',
		anyBg ? `Job-UUID ${anyBg.evt.getHeader('Job-UUID')}, body ${JSON.stringify(anyBody.slice(0, 40))}` : 'nothing in 3 s');
	const bgBody = bg ? bg.getBody() || '' : '';
	result(!!bg && bg.getHeader('Job-UUID') === jobId && bgBody.startsWith('UP '),
		'bgapi status with the client\'s Job-UUID header: modesl\'s callback gets its BACKGROUND_JOB',
		bg ? `${bg.getHeader('Job-UUID')} ${JSON.stringify(bgBody.slice(0, 40))}` :
			`no callback in 3 s; sent Job-UUID ${jobId}, event had ${anyBg && anyBg.evt.getHeader('Job-UUID')}`);

	// 6. xml
	const G = await connect(password, 'G');
	all.push(G);
	const rx = await cmd(G, G.events, 'xml', 'CUSTOM evr::x');
	const xv = 'a<b> & "c" \'d\'';
	await cmd(B, B.sendEvent, custom('evr::x', { 'X-Evr-Xml': xv }, 'xml body <ok/>'));
	const dec = (v) => { try { return decodeURIComponent(v || ''); } catch (e) { return v; } };
	const gx = await waitFor(() => G.got.find((g) => dec(g.evt.getHeader('Event-Subclass')) === 'evr::x'), 3000);
	result(reply(rx).startsWith('+OK event listener enabled xml') && !!gx && gx.ct === 'text/event-xml' &&
		dec(gx.evt.getHeader('X-Evr-Xml')) === xv,
		'event xml CUSTOM evr::x: received as text/event-xml, modesl parses it, header value exact (URL-encoded as switch_event_xmlize)',
		gx ? `${gx.ct} '${gx.evt.getHeader('X-Evr-Xml')}' body ${JSON.stringify(gx.evt.getBody())}` : `nothing (${reply(rx)})`);

	// 7. two clients, different interests
	const H = await connect(password, 'H');
	const I = await connect(password, 'I');
	all.push(H, I);
	await cmd(H, H.events, 'plain', 'CUSTOM evr::h1');
	await cmd(I, I.events, 'json', 'CUSTOM evr::h2');
	for (let k = 0; k < 3; k++) {
		await cmd(B, B.sendEvent, custom('evr::h1', { K: String(k) }));
		await cmd(B, B.sendEvent, custom('evr::h2', { K: String(k) }));
	}
	await waitFor(() => named(H, 'evr::h1').length >= 3 && named(I, 'evr::h2').length >= 3, 3000);
	await sleep(300);
	const hs = H.got.map((g) => g.evt.getHeader('Event-Subclass'));
	const is = I.got.map((g) => g.evt.getHeader('Event-Subclass'));
	result(hs.length === 3 && hs.every((s) => s === 'evr::h1') && is.length === 3 &&
		is.every((s) => s === 'evr::h2') && I.got.every((g) => g.ct === 'text/event-json'),
		'two clients with different interests each get only their own 3 events', `H [${hs}] I [${is}]`);

	// 9. evr_esl_list and evr_esl_kill
	const list = eslList();
	const byPort = (c) => list.find((x) => x.peer === `127.0.0.1:${c.socket.localPort}`);
	const lh = byPort(H), li = byPort(I), lg = byPort(G);
	const evs = (x) => JSON.stringify(x && [x.events, x.subclasses]);
	result(list.length === all.length && !!lh && !!li && !!lg && lh.format === 'plain' && li.format === 'json' &&
		lg.format === 'xml' && evs(lh).includes('evr::h1') && evs(li).includes('evr::h2'),
		'evr_esl_list shows every connected client with its peer, format and events',
		`${list.length} clients; H ${JSON.stringify(lh)}; I format ${li && li.format}`);
	const killedBefore = stat('esl_killed_operator');
	let killOk = false;
	try { execFileSync(evrctl, ['-s', sock, '--timeout', '5', 'esl-kill', String(lh && lh.id)]); killOk = true; } catch (e) { /* below */ }
	const hEnded = await waitFor(() => H.ended, 3000);
	const killedAfter = stat('esl_killed_operator');
	result(killOk && hEnded && killedAfter === killedBefore + 1 && !byPortIn(eslList(), H),
		'evr_esl_kill disconnects the client (modesl esl::end), control.esl_killed_operator + 1',
		`kill ok ${killOk}, end ${hEnded}, ${killedBefore} -> ${killedAfter}`);
	result(!I.ended && !G.ended, 'the other clients stay connected', `I ended ${I.ended}, G ended ${G.ended}`);

	// 8. a slow client (raw TCP, subscribes ALL, never reads) while a normal
	// client keeps receiving
	await slowClient(B);

	// 10 is the shell's (SIGTERM with these connected): stay connected
	process.stdout.write('CONNECTED\n');
	await sleep(60000);
	process.exit(0);
}

function byPortIn(list, c) {
	return list.find((x) => x.peer === `127.0.0.1:${c.socket ? c.socket.localPort : -1}`);
}

function rawAuth() {
	return new Promise((resolve, reject) => {
		const s = net.connect({ host, port });
		let buf = '', step = 0;
		const t = setTimeout(() => reject(new Error('raw client: no auth/subscribe in 5 s')), 5000);
		s.on('error', reject);
		s.on('data', (d) => {
			buf += d.toString('latin1');
			if (step === 0 && buf.includes('auth/request\n\n')) {
				step = 1; buf = '';
				s.write(`auth ${password}\n\n`);
			} else if (step === 1 && buf.includes('\n\n')) {
				if (!buf.includes('+OK accepted')) return reject(new Error('raw auth: ' + buf));
				step = 2; buf = '';
				s.write('event plain ALL\n\n');
			} else if (step === 2 && buf.includes('\n\n')) {
				if (!buf.includes('+OK event listener enabled plain')) return reject(new Error('raw event: ' + buf));
				step = 3;
				clearTimeout(t);
				s.pause(); // stop reading: evrd's queue for it fills
				resolve(s);
			}
		});
	});
}

async function slowClient(B) {
	let S;
	try {
		S = await rawAuth();
	} catch (e) {
		result(false, 'slow raw client authenticates and subscribes ALL', String(e));
		return;
	}
	let sClosed = false;
	S.on('close', () => { sClosed = true; });
	S.on('end', () => { sClosed = true; });
	const sPort = S.localPort;
	const N = await connect(password, 'N');
	await cmd(N, N.events, 'plain', 'CUSTOM evr::norm');
	const lostBefore = stat('esl_events_lost') || 0;
	const killedBefore = stat('esl_killed_lost') || 0;
	const big = 'x'.repeat(8000);
	let sent = 0, maxLost = 0, killed = killedBefore, lat = [], normSent = 0;
	const t0 = Date.now();
	for (let batch = 0; batch < 40 && Date.now() - t0 < 30000; batch++) {
		const ps = [];
		for (let k = 0; k < 50; k++, sent++)
			ps.push(cmd(B, B.sendEvent, custom('evr::big', { Seq: String(sent) }, big)));
		await Promise.all(ps);
		// a normal client's event, timed
		const at = Date.now();
		normSent++;
		await cmd(B, B.sendEvent, custom('evr::norm', { Batch: String(batch) }));
		const g = await waitFor(() => named(N, 'evr::norm').length >= normSent, 3000);
		lat.push(g ? named(N, 'evr::norm')[normSent - 1].at - at : -1);
		const me = eslList().find((x) => x.peer === `127.0.0.1:${sPort}`);
		if (me) maxLost = Math.max(maxLost, me.lost || 0);
		killed = stat('esl_killed_lost') || 0;
		if (killed > killedBefore) break;
	}
	const lostAfter = stat('esl_events_lost') || 0;
	result(lostAfter > lostBefore, 'slow client: control.esl_events_lost grows', `${lostBefore} -> ${lostAfter} after ${sent} events of 8 KB`);
	result(maxLost > 0, 'slow client: evr_esl_list shows lost > 0 for it', `max lost seen ${maxLost}`);
	const gone = await waitFor(() => !eslList().some((x) => x.peer === `127.0.0.1:${sPort}`), 3000);
	result(killed >= killedBefore + 1 && gone, 'slow client disconnected after 500 lost in a row (control.esl_killed_lost >= 1)',
		`esl_killed_lost ${killedBefore} -> ${killed}, still listed ${!gone}, after ${sent} events, ${Date.now() - t0} ms`);
	// drain what the kernel held for the slow client, then it must end
	S.resume();
	S.on('data', () => {});
	const sEnd = await waitFor(() => sClosed, 5000);
	result(sEnd, 'slow client: its socket is closed by evrd', `closed ${sEnd}`);
	const worst = Math.max(...lat);
	result(lat.length > 0 && lat.every((x) => x >= 0 && x < 1000) && named(N, 'evr::norm').length === normSent,
		'a normal client meanwhile gets each of its events within 1 s', `latencies ms [${lat}]`);
	void worst;
}

main().catch((e) => {
	process.stdout.write(`RESULT fail internal error -- ${e && e.stack}\n`);
	process.exit(1);
});
