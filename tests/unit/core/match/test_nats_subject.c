/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NATS subject templates of nats: destinations (match/evr_nats_subject.h):
 * the syntax accepted at subscribe, {event} rendered with the bytes a
 * subject token cannot hold mapped to '_', the length bound, the reserved
 * namespace, and the destination policy's verdicts on nats: destinations.
 */
#include <errno.h>
#include <string.h>

#include "match/evr_dest_policy.h"
#include "match/evr_nats_subject.h"
#include "match/evr_sub.h"
#include "evr_test.h"

static void test_check(void)
{
	static const struct {
		const char *t;
		int ok;
		bool templated;
	} c[] = {
		{"evr", 1, false},
		{"evr.notify", 1, false},
		{"evr.{event}", 1, true},
		{"{event}", 1, true},
		{"a.b{event}c.{event}", 1, true},
		{"Evr-1_x:y/z#~", 1, false},
		{"", 0, false},
		{".", 0, false},
		{"a..b", 0, false},
		{"a.", 0, false},
		{".a", 0, false},
		{"a.*", 0, false},
		{"a.>", 0, false},
		{"a*b", 0, false},
		{"a b", 0, false},
		{"a\tb", 0, false},
		{"a\x7f", 0, false},
		{"caf\xc3\xa9", 0, false},
		{"{evenT}", 0, false},
		{"{}", 0, false},
		{"a}", 0, false},
		{"{event", 0, false},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char err[160] = "";
		bool tpl = !c[i].templated;
		int rc = evr_nats_subject_check(c[i].t, strlen(c[i].t), &tpl, err, sizeof(err));

		CHECK_MSG((rc == 0) == c[i].ok, "'%s': rc %d (%s)", c[i].t, rc, err);
		if (c[i].ok)
			CHECK_EQ_INT(tpl, c[i].templated);
		else
			CHECK_MSG(rc == -EINVAL && err[0], "'%s': no reason given", c[i].t);
	}
	/* the length bound: EVR_NATS_TEMPLATE_MAX, what a destination's text holds */
	{
		char t[EVR_NATS_TEMPLATE_MAX + 2], err[160];
		struct evr_dest d;
		char in[EVR_NATS_TEMPLATE_MAX + 8] = "nats:";

		memset(t, 'a', sizeof(t));
		CHECK_EQ_INT(evr_nats_subject_check(t, EVR_NATS_TEMPLATE_MAX, NULL, err,
		                                    sizeof(err)), 0);
		CHECK_EQ_INT(evr_nats_subject_check(t, EVR_NATS_TEMPLATE_MAX + 1, NULL, err,
		                                    sizeof(err)), -EINVAL);
		CHECK_EQ_STR(err, "NATS subject longer than 122 bytes");
		memset(in + 5, 'a', EVR_NATS_TEMPLATE_MAX);
		CHECK_EQ_INT(evr_dest_parse(in, &d, err, sizeof(err)), 0);
		CHECK_EQ_INT(strlen(d.text), 5 + EVR_NATS_TEMPLATE_MAX);
		in[5 + EVR_NATS_TEMPLATE_MAX] = 'a';
		CHECK_EQ_INT(evr_dest_parse(in, &d, err, sizeof(err)), -EINVAL);
	}
}

static int render(const char *t, const char *name, const char *sub, char *out, uint32_t cap)
{
	bool tpl;
	char err[160];

	if (evr_nats_subject_check(t, strlen(t), &tpl, err, sizeof(err)) != 0)
		return -2;
	return evr_nats_subject_render(t, (uint32_t)strlen(t), tpl, name,
	                               (uint32_t)strlen(name), sub, (uint32_t)strlen(sub), out,
	                               cap);
}

static void test_render(void)
{
	static const struct {
		const char *t, *name, *sub, *want;
	} c[] = {
		{"evr.{event}", "E_UL_AOR_INSERT", "", "evr.E_UL_AOR_INSERT"},
		{"evr.notify", "E_UL_AOR_INSERT", "", "evr.notify"},
		/* FreeSWITCH CUSTOM: name, space (-> _), subclass; ':' is legal */
		{"evr.{event}", "CUSTOM", "sofia::register", "evr.CUSTOM_sofia::register"},
		{"fs.{event}.x", "CHANNEL_CREATE", "", "fs.CHANNEL_CREATE.x"},
		/* what a token cannot hold becomes '_' */
		{"evr.{event}", "a.b*c>d e", "", "evr.a_b_c_d_e"},
		{"evr.{event}", "t\tn\r\x01\x7f", "", "evr.t_n___"},
		{"evr.{event}", "caf\xc3\xa9", "", "evr.caf__"},
		{"evr.{event}", "CUSTOM", "a.b c", "evr.CUSTOM_a_b_c"},
		/* a leading '$' would be the server's namespace */
		{"{event}.x", "$JS", "", "_JS.x"},
		{"{event}", "$SYS.x", "", "_SYS_x"},
		{"evr.{event}", "$x", "", "evr.$x"},
		/* placeholders inside a token, several */
		{"p{event}s.{event}", "E", "", "pEs.E"},
		{"{event}", "", "", "_"},
	};
	char out[EVR_NATS_SUBJECT_MAX + 1];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int n = render(c[i].t, c[i].name, c[i].sub, out, sizeof(out));

		CHECK_MSG(n == (int)strlen(c[i].want), "'%s' with '%s': %d", c[i].t, c[i].name, n);
		if (n >= 0)
			CHECK_EQ_STR(out, c[i].want);
	}
	/* bounds: the subject and its NUL in cap, and never over 255 bytes */
	{
		char name[300];

		CHECK_EQ_INT(render("evr.x", "E", "", out, 6), 5);
		CHECK_EQ_INT(render("evr.x", "E", "", out, 5), -1);
		CHECK_EQ_INT(render("evr.{event}", "E", "", out, 6), 5);
		CHECK_EQ_STR(out, "evr.E");
		CHECK_EQ_INT(render("evr.{event}", "EE", "", out, 6), -1);
		memset(name, 'N', sizeof(name));
		name[251] = '\0'; /* "evr." + 251 = 255 */
		CHECK_EQ_INT(render("evr.{event}", name, "", out, sizeof(out)), 255);
		CHECK_EQ_INT(strlen(out), 255);
		name[251] = 'N';
		name[252] = '\0';
		CHECK_EQ_INT(render("evr.{event}", name, "", out, sizeof(out)), -1);
		/* a bigger buffer does not lift the bound */
		char big[600];

		CHECK_EQ_INT(render("evr.{event}", name, "", big, sizeof(big)), -1);
	}
}

static void test_reserved_and_policy(void)
{
	static const struct {
		const char *dest;
		const char *refusal; /* NULL: accepted with NATS on */
	} c[] = {
		{"nats:evr.{event}", NULL},
		{"nats:x.$JS", NULL},
		{"nats:_INBOXES.x", NULL},
		{"nats:x._INBOX", NULL},
		{"nats:$JS.API.STREAM.DELETE.x", "destination 'nats:$JS.API.STREAM.DELETE.x': "
		 "subject in NATS's own namespace refused ('$'-prefixed: $JS, $SYS, $KV; _INBOX)"},
		{"nats:$SYS", "destination 'nats:$SYS': subject in NATS's own namespace refused "
		 "('$'-prefixed: $JS, $SYS, $KV; _INBOX)"},
		{"nats:_INBOX.abc", "destination 'nats:_INBOX.abc': subject in NATS's own "
		 "namespace refused ('$'-prefixed: $JS, $SYS, $KV; _INBOX)"},
		{"nats:_INBOX", "destination 'nats:_INBOX': subject in NATS's own "
		 "namespace refused ('$'-prefixed: $JS, $SYS, $KV; _INBOX)"},
	};
	struct evr_dest_policy on = {.nats_on = true}, off = {.nats_on = false};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct evr_dest d;
		char err[256] = "";

		CHECK_EQ_INT(evr_dest_parse(c[i].dest, &d, err, sizeof(err)), 0);
		CHECK_EQ_INT(d.kind, EVR_DEST_NATS);
		if (c[i].refusal) {
			CHECK_EQ_INT(evr_dest_policy_check(&on, &d, err, sizeof(err)), -EACCES);
			CHECK_EQ_STR(err, c[i].refusal);
		} else {
			CHECK_MSG(evr_dest_policy_check(&on, &d, err, sizeof(err)) == 0, "%s: %s",
			          c[i].dest, err);
		}
		/* NATS off (nats.url ""): every nats: destination refused, saying so */
		CHECK_EQ_INT(evr_dest_policy_check(&off, &d, err, sizeof(err)), -EACCES);
		CHECK_MSG(strstr(err, "nats: destinations are off (nats.url is not set)"), "%s",
		          err);
	}
}

int main(void)
{
	test_check();
	test_render();
	test_reserved_and_policy();
	EVR_TEST_DONE();
}
