/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encoders: struct evr_event -> notification payload, once per event per
 * format (not once per subscriber, as OpenSIPS does).
 *
 *  - EVR_FMT_JSONRPC: byte-compatible with OpenSIPS event_datagram: compact
 *    {"jsonrpc":"2.0","method":NAME,"params":{...}} with keys in that order;
 *    params are the attributes in order, as an array of values for an event
 *    decoded from positional params (ev->positional). A FreeSWITCH source's
 *    Event-Name attribute is not repeated, it is the method; a JSON-RPC
 *    param of that name is kept. No sequence number: the notification has
 *    no natural place for one and OpenSIPS consumers must parse it unchanged.
 *  - EVR_FMT_PLAIN: FreeSWITCH text/event-plain with the ESL envelope
 *    "Content-Length: N\nContent-Type: text/event-plain\n\n" then
 *    "Name: url-encoded-value\n" lines, Event-Name first, Event-Sequence set
 *    to seq, body appended after its own Content-Length.
 *  - EVR_FMT_JSON: FreeSWITCH JSON event, flat object of strings, Event-Name
 *    first, "Event-Sequence" = seq, "_body" for the body.
 *  - EVR_FMT_XML: FreeSWITCH text/event-xml (switch_event_xmlize printed by
 *    switch_xml_toxml), headers in the plain order, URL-encoded values.
 *    Like json, without the ESL envelope.
 *
 * seq is the router-wide increasing sequence number of the event (FreeSWITCH
 * Event-Sequence), so subscribers can detect loss.
 *
 * Thread context: any thread; no allocation.
 */
#ifndef EVR_ENCODE_H
#define EVR_ENCODE_H

#include "event/evr_event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes written into out[0..cap) (not NUL-terminated), -ENOSPC when it does
 * not fit (never a truncated payload), -EINVAL for a format that is not
 * jsonrpc/plain/json/xml. */
EVR_API int evr_encode(enum evr_format fmt, const struct evr_event *ev,
                       uint64_t seq, char *out, size_t cap);

EVR_API int evr_encode_jsonrpc(const struct evr_event *ev, char *out, size_t cap);
EVR_API int evr_encode_plain(const struct evr_event *ev, uint64_t seq, char *out,
                             size_t cap);
EVR_API int evr_encode_json(const struct evr_event *ev, uint64_t seq, char *out,
                            size_t cap);
EVR_API int evr_encode_xml(const struct evr_event *ev, uint64_t seq, char *out,
                           size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* EVR_ENCODE_H */
