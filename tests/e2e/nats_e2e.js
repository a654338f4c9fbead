// SPDX-License-Identifier: Apache-2.0
//
// NATS side of tests/e2e/nats_e2e.sh and nats_tls_e2e.sh, with the npm
// `nats` client (pinned by lib.sh e2e_require_nats_js). Every mode is
// bounded in time and prints one JSON line per message: {"subject",
// "data"} (data as UTF-8 text).
//
//   node nats_e2e.js collect URL SUBJECT OUT COUNT TIMEOUT_S
//       core subscription; writes OUT (JSON lines), OUT.ready once
//       subscribed; ends after COUNT messages or TIMEOUT_S, then waits
//       0.5 s more and writes what came late too (so extras are seen)
//   node nats_e2e.js js-setup URL STREAM SUBJECTS DURABLE
//       a file stream on SUBJECTS (comma-separated) and a durable pull
//       consumer (deliver all, explicit ack), as an operator would with the
//       nats CLI (`nats stream add`, `nats consumer add`)
//   node nats_e2e.js js-info URL STREAM
//       {"messages": N} of the stream
//   node nats_e2e.js js-consume URL STREAM DURABLE MAX EXPIRES_MS
//       fetch up to MAX from the durable consumer, ack each (ackAck), print
'use strict';

const fs = require('fs');
const { connect, AckPolicy, DeliverPolicy, StorageType, StringCodec } = require('nats');

const sc = StringCodec();
const [mode, url, ...args] = process.argv.slice(2);

// nats_tls_e2e.sh: a user (NATS_USER, NATS_PASS), and TLS when NATS_TLS_CA
// is set (the CA the server chains to, a client certificate if given).
function opts(url) {
	const o = { servers: url, reconnect: false };
	if (process.env.NATS_USER) {
		o.user = process.env.NATS_USER;
		o.pass = process.env.NATS_PASS;
	}
	if (process.env.NATS_TLS_CA) {
		o.tls = { caFile: process.env.NATS_TLS_CA };
		if (process.env.NATS_TLS_CERT) {
			o.tls.certFile = process.env.NATS_TLS_CERT;
			o.tls.keyFile = process.env.NATS_TLS_KEY;
		}
	}
	return o;
}

function line(m) {
	return JSON.stringify({ subject: m.subject, data: sc.decode(m.data) }) + '\n';
}

async function collect() {
	const [subject, out, countS, toS] = args;
	const count = Number(countS);
	const nc = await connect(opts(url));
	const sub = nc.subscribe(subject);
	let n = 0;
	fs.writeFileSync(out, '');
	await nc.flush();
	fs.writeFileSync(out + '.ready', '');
	const stop = setTimeout(() => sub.unsubscribe(), Number(toS) * 1000);
	for await (const m of sub) {
		fs.appendFileSync(out, line(m));
		if (++n === count) {
			// a short grace period: anything beyond COUNT is recorded too
			setTimeout(() => sub.unsubscribe(), 500);
		}
	}
	clearTimeout(stop);
	await nc.close();
}

async function jsSetup() {
	const [stream, subjects, durable] = args;
	const nc = await connect(opts(url));
	const jsm = await nc.jetstreamManager();
	await jsm.streams.add({ name: stream, subjects: subjects.split(','),
	                        storage: StorageType.File });
	await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit,
	                                  deliver_policy: DeliverPolicy.All });
	console.log(JSON.stringify({ stream, durable }));
	await nc.close();
}

async function jsInfo() {
	const [stream] = args;
	const nc = await connect(opts(url));
	const jsm = await nc.jetstreamManager();
	const si = await jsm.streams.info(stream);
	console.log(JSON.stringify({ messages: si.state.messages }));
	await nc.close();
}

async function jsConsume() {
	const [stream, durable, maxS, expS] = args;
	const nc = await connect(opts(url));
	const js = nc.jetstream();
	const c = await js.consumers.get(stream, durable);
	const it = await c.fetch({ max_messages: Number(maxS), expires: Number(expS) });
	for await (const m of it) {
		process.stdout.write(line(m));
		await m.ackAck();
	}
	await nc.drain();
}

const modes = { collect, 'js-setup': jsSetup, 'js-info': jsInfo, 'js-consume': jsConsume };
if (!modes[mode]) {
	console.error('usage: nats_e2e.js collect|js-setup|js-info|js-consume URL ...');
	process.exit(2);
}
modes[mode]().catch((e) => {
	console.error(`nats_e2e.js ${mode}: ${e && e.message ? e.message : e}`);
	process.exit(1);
});
