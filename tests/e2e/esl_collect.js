// SPDX-License-Identifier: Apache-2.0
// An ESL consumer built on modesl (FreeSWITCH's Node ESL client), used
// unchanged: connect, auth, `event <format> <names>`, collect events.
//
//   node esl_collect.js HOST PORT PASSWORD FORMAT "NAMES" OUT COUNT TIMEOUT_S
//
// Writes "ready" to OUT.ready once the subscription is acknowledged, then
// one JSON line per event to OUT ({headers: {name: value}, body}) as modesl
// parsed it; exits 0 after COUNT events, 1 on timeout or error (bounded).
'use strict';
const fs = require('fs');
const esl = require('modesl');

const [host, port, password, format, names, out, count, timeoutS] = process.argv.slice(2);
const want = parseInt(count, 10);
let got = 0;
const fd = fs.openSync(out, 'w');
const timer = setTimeout(() => {
	process.stderr.write(`esl_collect: ${got} of ${want} events in ${timeoutS} s\n`);
	process.exit(1);
}, parseFloat(timeoutS) * 1000);

const conn = new esl.Connection(host, parseInt(port, 10), password, () => {
	conn.events(format, names, () => {
		fs.writeFileSync(out + '.ready', 'ready\n');
	});
});
conn.on('error', (e) => {
	process.stderr.write(`esl_collect: ${e}\n`);
	process.exit(1);
});
conn.on('esl::event::**', function (evt, headers) {
	const ct = headers && headers['Content-Type'];
	if (!ct || !ct.startsWith('text/event-'))
		return;
	const h = {};
	for (const x of evt.headers)
		h[x.name] = x.value;
	fs.writeSync(fd, JSON.stringify({ type: ct, headers: h, body: evt.getBody() || '' }) + '\n');
	if (++got >= want) {
		clearTimeout(timer);
		fs.closeSync(fd);
		conn.disconnect();
		process.exit(0);
	}
});
