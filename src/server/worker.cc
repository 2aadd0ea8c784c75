// The connection and request path: accept, parse with limits, route, proxy with backpressure.
// This is the one translation unit that instantiates Beast and coroutines (compile cost).
#include "server/worker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <span>

#include "api/openai_request.h"
#include "api/usage.h"
#include "governance/governance.h"
#include "inbound/anthropic/messages.h"
#include "providers/openai.h"
#include "providers/provider.h"
#include "routing/router.h"
#include "server/adapters.h"
#include "telemetry/access/access_log.h"
#include "telemetry/otlp/exporter.h"

// GCC 12 false positive (GCC PR 109224): when it inlines Asio's awaitable frame allocation
// (thread_info_base::allocate, aligned_alloc) into a large coroutine it reports the matching
// awaitable_frame_base::operator delete as "mismatched". Both are Asio's own pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace sb::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace messages_api = sb::inbound::anthropic;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using asio::awaitable;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Per-connection state shared between the session coroutine and the handlers it starts
// (deadline timer, client-disconnect watch, upstream waker). Worker thread only.
struct Conn : std::enable_shared_from_this<Conn> {
    Conn(Worker& w, tcp::socket& s) : worker(w), socket(s), wake(w.io()) { worker.add(this); }
    ~Conn() { worker.remove(this); }

    Worker& worker;
    tcp::socket& socket;  // lowest layer (TLS rides on it)
    // Read deadline, enforced by the worker's sweep (one timer per worker, not per request:
    // re-arming a timer per request costs a timerfd_settime system call each time).
    Clock::time_point deadline_at = Clock::time_point::max();
    asio::steady_timer wake;
    bool timed_out = false;
    bool idle = true;          // waiting for a request head: drain may close it at once
    bool abort = false;        // drain deadline passed: end what is in flight
    bool client_gone = false;  // peer closed while we proxied
    bool watching = false;
    bool tls = false;
    bool admin = false;  // accepted on the admin listener: admin routes only
    // Waiting on an upstream since `proxy_since`: the sweep starts the disconnect watch once a
    // request has waited a sweep interval (most answers come sooner, and arming the watch
    // costs an epoll_ctl per request).
    bool proxying = false;
    Clock::time_point proxy_since{};
    std::shared_ptr<http::Transfer> transfer;
};

namespace {

void arm_deadline(const std::shared_ptr<Conn>& c, std::chrono::milliseconds d) {
    c->timed_out = false;
    c->deadline_at = Clock::now() + d;
    c->worker.ensure_sweep();
}

void disarm_deadline(Conn& c) {
    c.deadline_at = Clock::time_point::max();
}

// A write that makes no progress for this long (a client that stopped reading) ends the
// connection instead of holding its buffers and its upstream forever.
void arm_write_deadline(Conn& c) {
    c.timed_out = false;
    c.deadline_at = Clock::now() + c.worker.snapshot()->config().server.idle_timeout;
    c.worker.ensure_sweep();
}

// Notices a client that hangs up while we wait on the upstream, and cancels the upstream at
// once. A readable socket with data (a pipelined request) just ends the watch.
void watch_client(const std::shared_ptr<Conn>& c) {
    c->watching = true;
    c->socket.async_wait(tcp::socket::wait_read, [c](boost::system::error_code ec) {
        if (ec || !c->watching) {
            return;
        }
        unsigned char byte = 0;
        ssize_t n = ::recv(c->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            watch_client(c);
            return;
        }
        c->watching = false;
        // Data is a pipelined request: the watch ends. On TLS, a record of content type 21 is an
        // alert (the client's close_notify): the client is gone too.
        constexpr unsigned char kTlsAlert = 21;
        if (n > 0 && !(c->tls && byte == kTlsAlert)) {
            return;
        }
        c->client_gone = true;
        if (c->transfer) {
            c->transfer->cancel();
        }
        c->wake.cancel();
    });
}

void unwatch_client(Conn& c) {
    if (c.watching) {
        c.watching = false;
        boost::system::error_code ignored;
        c.socket.cancel(ignored);
    }
}

awaitable<void> wait_wake(Conn& c) {
    c.wake.expires_at(Clock::time_point::max());
    co_await c.wake.async_wait(kNoThrow);
}

// The same, but also waking at `at` (a stream's keep-alive ping).
awaitable<void> wait_wake_until(Conn& c, Clock::time_point at) {
    c.wake.expires_at(at);
    co_await c.wake.async_wait(kNoThrow);
}

std::string format_millis(Clock::duration d) {
    return fmt::format("{:.3f}", std::chrono::duration<double, std::milli>(d).count());
}

// One upstream attempt, as the access log and metrics see it.
struct AttemptRecord {
    std::string target;  // the target's name
    std::string provider;
    std::string upstream_model;
    int status = 0;          // HTTP status the attempt ended with (the upstream's, or ours)
    std::string error_code;  // empty on success
    std::string_view failure = "none";
    Clock::time_point started{};
    Clock::duration duration{};
    std::optional<api::Usage> usage;  // the committed attempt's, when the answer reported it
    std::optional<double> cost;       // priced from `usage` and the target's price
};

// What one request knows while it is handled.
struct Exchange {
    Conn* conn = nullptr;
    bool http10 = false;     // HTTP/1.0 client: no chunked encoding, close-delimited streams
    bool head_only = false;  // HEAD request: the response has no body
    std::string request_id;
    std::string model;                  // public model name, once known
    int status = 0;                     // status of the response sent
    std::string error_code;             // `code` of the error body sent, if any
    Clock::time_point first_byte_at{};  // streams: when the head went out
    Clock::time_point started;
    Clock::duration upstream_time{};  // subtracted from elapsed time to get our overhead
    bool keep_alive = true;
    // The request is for Anthropic's Messages API (/v1/messages...): every error it gets, from
    // a bad head to an upstream failure, has Anthropic's shape, and in-stream errors are
    // `event: error`.
    bool anthropic = false;
    std::string provider;
    std::string target;       // upstream model of the last attempt
    std::string target_name;  // the target's configured name
    int attempts = 0;
    const bhttp::fields* headers = nullptr;  // the request's headers, while it is handled
    std::vector<AttemptRecord> attempt_log;
    std::optional<api::Usage> usage;  // of the answer the client got, when known
    std::optional<double> cost;       // of that answer, when usage and the target's price are known
    std::string principal;            // who called (key id, jwt:<issuer>:<user>, anonymous)
    std::string team;                 // the caller's team, when known
    std::vector<std::pair<std::string, std::string>> extra_headers;  // x-ratelimit-* and such
    // Kept when OTLP export is on: the request's W3C traceparent, and gen_ai.operation.name.
    std::string traceparent;
    std::string_view operation;  // a literal from otlp::operation_for_path()
    std::string endpoint;        // request path, for the access log
    // logging.bodies: the request body and what the client was sent, up to kMaxLoggedBody each
    // (the access log redacts them before they reach the spool).
    static constexpr std::size_t kMaxLoggedBody = 1u << 20;
    bool capture_bodies = false;
    std::string request_body;
    std::string response_body;
    // Runs right before the response's last write: the attempt that answered is added to the
    // attempt log (set by run_attempt while it runs), then the exchange is recorded (set by
    // serve()), so the access record is spooled before the client can see a complete answer.
    std::function<void()> finalize_attempt;
    std::function<void()> record;
    void before_last_write() {
        if (finalize_attempt) {
            auto finalize = std::move(finalize_attempt);
            finalize_attempt = nullptr;
            finalize();
        }
        if (record) {
            record();
        }
    }
    void keep_response_body(std::string_view bytes) {
        if (capture_bodies && response_body.size() < kMaxLoggedBody) {
            response_body.append(bytes.substr(0, kMaxLoggedBody - response_body.size()));
        }
    }
    bhttp::verb method = bhttp::verb::unknown;
};

void append_common_headers(std::string& head, Exchange& ex) {
    fmt::format_to(std::back_inserter(head), "x-request-id: {}\r\n", ex.request_id);
    if (ex.anthropic) {
        // Anthropic's name for it, which its SDKs show on errors (`requestID`).
        fmt::format_to(std::back_inserter(head), "request-id: {}\r\n", ex.request_id);
    }
    if (!ex.provider.empty()) {
        fmt::format_to(std::back_inserter(head),
                       "x-switchboard-provider: {}\r\nx-switchboard-target: {}\r\n"
                       "x-switchboard-attempts: {}\r\n",
                       ex.provider, ex.target, ex.attempts);
    }
    if (ex.cost) {
        fmt::format_to(std::back_inserter(head), "x-switchboard-cost: {:.8f}\r\n", *ex.cost);
    }
    for (const auto& [name, value] : ex.extra_headers) {
        fmt::format_to(std::back_inserter(head), "{}: {}\r\n", name, value);
    }
    auto overhead = Clock::now() - ex.started - ex.upstream_time;
    fmt::format_to(std::back_inserter(head), "x-switchboard-overhead-ms: {}\r\n",
                   format_millis(overhead));
    if (ex.conn != nullptr && ex.conn->worker.draining()) {
        ex.keep_alive = false;  // draining: this is the connection's last response
    }
    if (!ex.keep_alive) {
        head += "connection: close\r\n";
    }
}

// Buffers to write in one gather operation (GCC 12 cannot keep a braced list alive across a
// co_await, so callers build this first).
struct Gather {
    std::array<asio::const_buffer, 3> bufs{};
    std::size_t count = 0;
    Gather& add(asio::const_buffer b) {
        bufs[count++] = b;
        return *this;
    }
};

template <typename Stream>
awaitable<bool> write_all(Stream& s, Exchange& ex, const Gather& g) {
    if (ex.conn != nullptr) {
        arm_write_deadline(*ex.conn);
    }
    auto [ec, written] = co_await asio::async_write(
        s, std::span<const asio::const_buffer>(g.bufs.data(), g.count), kNoThrow);
    (void)written;
    if (ex.conn != nullptr) {
        disarm_deadline(*ex.conn);
    }
    co_return !ec;
}

template <typename Stream>
awaitable<bool> write_one(Stream& s, Exchange& ex, std::string_view data) {
    Gather g;
    g.add(asio::buffer(data.data(), data.size()));
    co_return co_await write_all(s, ex, g);
}

template <typename Stream>
awaitable<bool> send_response(Stream& s, Exchange& ex, int status, std::string_view content_type,
                              std::string_view body, std::string_view extra_headers = {}) {
    ex.status = status;
    ex.keep_response_body(body);
    std::string head;
    head.reserve(256 + extra_headers.size());
    fmt::format_to(std::back_inserter(head),
                   "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\n", status,
                   reason_phrase(status), content_type, body.size());
    head += extra_headers;
    append_common_headers(head, ex);
    head += "\r\n";
    ex.before_last_write();
    Gather g;
    g.add(asio::buffer(head));
    if (!ex.head_only) {
        g.add(asio::buffer(body.data(), body.size()));
    }
    bool ok = co_await write_all(s, ex, g);
    co_return ok&& ex.keep_alive;
}

template <typename Stream>
awaitable<bool> send_error(Stream& s, Exchange& ex, const Error& e) {
    ex.error_code = std::string(error_code_name(e));
    if (ex.error_code.empty()) {
        ex.error_code = std::string(error_type(e));
    }
    std::string extra;
    if (!e.retry_after.empty()) {
        extra = fmt::format("retry-after: {}\r\n", e.retry_after);
    }
    auto render = [&ex](const Error& shown) {
        return ex.anthropic ? messages_api::anthropic_error_body(shown, ex.request_id)
                            : render_openai_error(shown);
    };
    if (e.code == ErrorCode::MethodNotAllowed && !e.param.empty()) {
        // For 405 the `param` slot carries the allowed methods (never rendered as a param).
        extra += fmt::format("allow: {}\r\n", e.param);
        Error shown = e;
        shown.param.clear();
        std::string body = render(shown);
        co_return co_await send_response(s, ex, http_status(e), "application/json", body, extra);
    }
    std::string body = render(e);
    co_return co_await send_response(s, ex, http_status(e), "application/json", body, extra);
}

// An upstream SSE event larger than this (no blank line in sight) fails the stream rather than
// growing the buffer without bound.
constexpr std::size_t kMaxPendingEvent = 4u << 20;

// The end of the last complete SSE event in `buf` (0 if none), searching only from `from`
// (minus the 3 bytes a terminator can straddle). Events end with a blank line; lines end with
// CRLF, LF or CR (WHATWG HTML, server-sent events).
std::size_t complete_events_end(std::string_view buf, std::size_t from) {
    std::size_t start = from > 3 ? from - 3 : 0;
    for (std::size_t i = buf.size(); i > start; --i) {
        std::string_view head = buf.substr(0, i);
        if (head.ends_with("\n\n") || head.ends_with("\r\r") || head.ends_with("\r\n\r\n") ||
            head.ends_with("\n\r\n")) {
            return i;
        }
    }
    return 0;
}

template <typename Stream>
awaitable<bool> write_chunk(Stream& s, Exchange& ex, std::string_view data) {
    ex.keep_response_body(data);
    if (ex.http10) {
        co_return co_await write_one(s, ex, data);
    }
    char size_line[24];
    auto r = fmt::format_to_n(size_line, sizeof(size_line), "{:x}\r\n", data.size());
    Gather g;
    g.add(asio::buffer(size_line, r.size))
        .add(asio::buffer(data.data(), data.size()))
        .add(asio::buffer("\r\n", 2));
    co_return co_await write_all(s, ex, g);
}

// Ends a streamed body (the last chunk; nothing for HTTP/1.0, where closing ends it).
template <typename Stream>
awaitable<bool> end_stream(Stream& s, Exchange& ex) {
    ex.before_last_write();
    if (ex.http10) {
        co_return false;
    }
    bool ok = co_await write_one(s, ex, "0\r\n\r\n");
    co_return ok&& ex.keep_alive;
}

// The head of a streamed response: chunked for HTTP/1.1, close-delimited for HTTP/1.0.
std::string stream_head(int status, std::string_view content_type, Exchange& ex) {
    ex.status = status;
    ex.first_byte_at = Clock::now();
    if (ex.http10) {
        ex.keep_alive = false;
    }
    std::string head;
    fmt::format_to(std::back_inserter(head),
                   "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncache-control: no-cache\r\n{}", status,
                   reason_phrase(status), content_type,
                   ex.http10 ? "" : "transfer-encoding: chunked\r\n");
    append_common_headers(head, ex);
    head += "\r\n";
    return head;
}

// The error event that ends a stream in the client's API: OpenAI's `data: {"error":...}`, or
// Anthropic's `event: error`.
std::string sse_error_event(const Exchange& ex, const Error& e) {
    if (ex.anthropic) {
        std::string out;
        messages_api::append_error_event(out, e);
        return out;
    }
    return "data: " + render_openai_error(e) + "\n\n";
}

// Anthropic's keep-alive event, as api.anthropic.com sends it.
constexpr std::string_view kAnthropicPing = "event: ping\ndata: {\"type\": \"ping\"}\n\n";

// `/v1/models`: every servable name (aliases included; patterns are not names). `owned_by` is
// the provider when all of a model's targets share one, else "switchboard".
std::string models_body(const config::Snapshot& snap, std::string_view only,
                        const std::function<bool(std::string_view)>& visible) {
    std::string out;
    auto append_model = [&](std::string_view id, const config::Model& m) {
        out += R"({"id":")";
        append_json_escaped(out, id);
        out += R"(","object":"model","created":0,"owned_by":")";
        std::string_view owner = m.targets.front().provider;
        for (const config::Target& t : m.targets) {
            if (t.provider != owner) {
                owner = "switchboard";
                break;
            }
        }
        append_json_escaped(out, owner);
        out += R"("})";
    };
    if (!only.empty()) {
        if (const config::Model* m = snap.find_model(only); m != nullptr && visible(m->name)) {
            append_model(only, *m);
        }
        return out;
    }
    out = R"({"object":"list","data":[)";
    bool first = true;
    for (const auto& m : snap.config().models) {
        const config::Model* served = m.glob ? nullptr : snap.find_model(m.name);
        if (served == nullptr || !visible(served->name)) {
            continue;
        }
        if (!first) {
            out += ',';
        }
        first = false;
        append_model(m.name, *served);
    }
    out += "]}";
    return out;
}

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// Records the exchange in the worker's metrics when it ends (whatever path it ended on), if a
// response was sent.
struct Recorder {
    Worker& worker;
    Exchange& ex;
    bool done = false;
    ~Recorder() { record(); }
    // Records the exchange once: called right before the response's last write (so that a crash
    // after the client has its whole answer cannot lose the record), or at the latest when the
    // exchange ends.
    void record() {
        if (done || ex.status == 0) {
            return;
        }
        done = true;
        auto now = Clock::now();
        telemetry::RequestSample sample;
        sample.model = ex.model;
        sample.provider = ex.provider;
        sample.status = ex.status;
        sample.error_code = ex.error_code;
        sample.total_seconds = seconds(now - ex.started);
        sample.overhead_seconds = seconds(now - ex.started - ex.upstream_time);
        if (ex.first_byte_at != Clock::time_point{}) {
            sample.first_byte_seconds = seconds(ex.first_byte_at - ex.started);
        }
        for (const AttemptRecord& a : ex.attempt_log) {
            std::string_view result = a.error_code.empty() ? std::string_view("ok") : a.error_code;
            sample.attempts.push_back({a.provider, a.upstream_model, result});
        }
        if (ex.usage) {
            sample.input_tokens = static_cast<std::int64_t>(ex.usage->prompt_tokens);
            sample.output_tokens = static_cast<std::int64_t>(ex.usage->completion_tokens);
        }
        if (ex.cost) {
            sample.cost = *ex.cost;
        }
        worker.metrics().record(sample);
        if (telemetry::access::AccessLog* log = worker.access_log()) {
            telemetry::access::AccessRecord r;
            r.request_id = ex.request_id;
            r.finished_at_us = log->now_micros();
            r.started_at_us =
                r.finished_at_us -
                std::chrono::duration_cast<std::chrono::microseconds>(now - ex.started).count();
            r.endpoint = ex.endpoint;
            r.method = std::string(bhttp::to_string(ex.method));
            r.principal = ex.principal;
            if (ex.principal.starts_with("key_")) {
                r.key_id = ex.principal;  // a key's id: random, not derived from the key
            }
            r.team = ex.team;
            r.cost_usd = ex.cost;
            r.model_requested = ex.model;
            r.target = ex.target;
            r.provider = ex.provider;
            r.status = ex.status;
            r.error_code = ex.error_code;
            r.total_ms = sample.total_seconds * 1000;
            r.overhead_ms = sample.overhead_seconds * 1000;
            r.stream = sample.first_byte_seconds >= 0;
            if (r.stream) {
                r.ttft_ms = sample.first_byte_seconds * 1000;
            }
            r.attempts = ex.attempts;
            if (ex.capture_bodies) {
                r.request_body = std::move(ex.request_body);
                r.response_body = std::move(ex.response_body);
            }
            if (ex.usage) {
                r.tokens_in = static_cast<std::int64_t>(ex.usage->prompt_tokens);
                r.tokens_out = static_cast<std::int64_t>(ex.usage->completion_tokens);
                r.tokens_cached = static_cast<std::int64_t>(ex.usage->cached_tokens);
                r.tokens_reasoning = static_cast<std::int64_t>(ex.usage->reasoning_tokens);
            }
            for (const AttemptRecord& a : ex.attempt_log) {
                telemetry::access::AttemptRecord row;
                row.index = static_cast<std::int32_t>(r.attempt_details.size() + 1);
                row.provider = a.provider;
                row.target = a.upstream_model;
                row.status = a.status;
                row.error_code = a.error_code;
                row.started_at_us =
                    r.started_at_us +
                    std::chrono::duration_cast<std::chrono::microseconds>(a.started - ex.started)
                        .count();
                row.duration_ms = std::chrono::duration<double, std::milli>(a.duration).count();
                r.attempt_details.push_back(std::move(row));
            }
            log->submit(std::move(r));
        }
        if (telemetry::otlp::Exporter* exporter = worker.exporter();
            exporter != nullptr && !ex.model.empty()) {
            exporter->submit(request_trace(*exporter, now));
        }
    }

    // The request's span and its attempt's (times of the attempt approximate: the Exchange
    // holds only the upstream's duration).
    telemetry::otlp::RequestTrace request_trace(const telemetry::otlp::Exporter& exporter,
                                                Clock::time_point now) const {
        namespace otlp = telemetry::otlp;
        otlp::RequestTrace t;
        t.request_id = ex.request_id;
        if (!ex.operation.empty()) {
            t.operation = ex.operation;
        }
        t.request_model = ex.model;
        t.provider = ex.provider;
        if (const config::Provider* p = worker.snapshot()->config().find_provider(ex.provider)) {
            t.provider_system = otlp::genai_provider_name(config::to_string(p->type));
        }
        t.status = ex.status;
        t.error_code = ex.error_code;
        t.stream = ex.first_byte_at != Clock::time_point{};
        t.start_unix_nano = exporter.unix_nanos(ex.started);
        t.end_unix_nano = exporter.unix_nanos(now);
        t.parent = otlp::parse_traceparent(ex.traceparent);
        if (ex.usage) {
            t.input_tokens = static_cast<std::int64_t>(ex.usage->prompt_tokens);
            t.output_tokens = static_cast<std::int64_t>(ex.usage->completion_tokens);
        }
        if (ex.cost) {
            t.cost = *ex.cost;
        }
        const auto& providers = worker.snapshot()->config();
        for (const AttemptRecord& rec : ex.attempt_log) {
            otlp::Attempt& a = t.attempts.emplace_back();
            a.provider = rec.provider;
            if (const config::Provider* p = providers.find_provider(rec.provider)) {
                a.provider_system = otlp::genai_provider_name(config::to_string(p->type));
            }
            a.target = rec.upstream_model;
            a.status = rec.status;
            a.error_code = rec.error_code;
            a.start_unix_nano = exporter.unix_nanos(rec.started);
            a.end_unix_nano = exporter.unix_nanos(rec.started + rec.duration);
            if (rec.usage) {
                a.input_tokens = static_cast<std::int64_t>(rec.usage->prompt_tokens);
                a.output_tokens = static_cast<std::int64_t>(rec.usage->completion_tokens);
            }
        }
        return t;
    }
};

Error model_not_found(std::string_view model) {
    return Error{
        ErrorCode::ModelNotFound,
        fmt::format("The model '{}' does not exist or is not served by this gateway.", model),
        "model"};
}

// Starts the upstream transfer for a connection's request and, when the request ends, stops
// it: the waker wakes the request's coroutine, the sweep starts the disconnect watch, and the
// destructor cancels whatever is still running (client gone, error, early return).
class UpstreamCall {
  public:
    UpstreamCall(Conn& c, http::UpstreamRequest request, Clock::time_point started) : conn_(c) {
        conn_.transfer = conn_.worker.upstream().start(std::move(request));
        Conn* raw = &conn_;
        conn_.transfer->set_waker([raw] { raw->wake.cancel(); });
        conn_.proxying = true;
        conn_.proxy_since = started;
        conn_.worker.ensure_sweep();
    }
    ~UpstreamCall() {
        conn_.proxying = false;
        unwatch_client(conn_);
        if (conn_.transfer) {
            conn_.transfer->set_waker(nullptr);
            conn_.transfer->cancel();
            conn_.transfer.reset();
        }
    }
    UpstreamCall(const UpstreamCall&) = delete;
    UpstreamCall& operator=(const UpstreamCall&) = delete;

  private:
    Conn& conn_;
};

// Ends a response that has not started with an error response, or a stream that has started
// with an error event and its final chunk (no [DONE]). Returns whether the connection is
// reusable.
// (Temporaries are kept in named locals across co_await: GCC 12 miscompiles some temporaries
// that live across a suspension point.)
template <typename Stream>
awaitable<bool> fail_exchange(Stream& s, Exchange& ex, bool head_sent, Error e) {
    if (!head_sent) {
        bool reusable = co_await send_error(s, ex, e);
        co_return reusable;
    }
    std::string event = sse_error_event(ex, e);
    bool written = co_await write_chunk(s, ex, event);
    if (!written) {
        co_return false;
    }
    bool reusable = co_await end_stream(s, ex);
    co_return reusable;
}

// Writes translated SSE events, sending the stream's head first if it has not gone yet.
template <typename Stream>
awaitable<bool> write_translated(Stream& s, Exchange& ex, bool& head_sent, std::string& out) {
    if (out.empty()) {
        co_return true;
    }
    if (!head_sent) {
        head_sent = true;
        std::string head = stream_head(200, "text/event-stream", ex);
        bool written = co_await write_one(s, ex, head);
        if (!written) {
            co_return false;
        }
    }
    bool ok = co_await write_chunk(s, ex, out);
    out.clear();
    co_return ok;
}

// How one upstream attempt ended. Until `committed`, nothing has reached the client and the
// request may still be retried elsewhere.
struct AttemptResult {
    bool committed = false;  // the response, or the stream's head, went to the client
    bool reusable = false;   // when committed: whether the connection may serve another request
    Error error;             // when not committed: why the attempt failed
    routing::Outcome outcome;
    std::optional<api::Usage> usage;  // from the answer (OpenAI format), when it reported it
    bool local = false;               // answered by the gateway itself (no upstream call was made)
    bool finalized = false;  // its attempt record went to the exchange before the last write
};

// The client's request as each attempt sees it. Its inbound API (OpenAI's endpoints, or
// Anthropic's Messages API) decides how a target's upstream request is built, how the answer
// is translated back, and the shape of errors. The routing fields (model, stream, max_tokens,
// model token span) are the base class's, whatever the API.
struct ClientRequest : api::InboundRequest {
    // Set for /v1/messages (Messages) and /v1/messages/count_tokens (CountTokens).
    std::optional<messages_api::Endpoint> messages_endpoint;
    messages_api::MessagesRequest messages;
    messages_api::ClientHeaders client_headers;  // views into the request's headers
    std::int64_t input_tokens_estimate = 0;      // shown in message_start of translated streams
};

std::string_view header_value(const bhttp::fields* headers, std::string_view name) {
    if (headers == nullptr) {
        return {};
    }
    auto it = headers->find(name);
    return it == headers->end() ? std::string_view() : std::string_view(it->value());
}

// Validates the client's body for its inbound API and reads what routing needs.
Result<ClientRequest> read_client_request(api::Endpoint ep,
                                          std::optional<messages_api::Endpoint> messages,
                                          const std::string& body, const Exchange& ex) {
    ClientRequest out;
    if (!messages) {
        auto inspected = api::inspect_request(ep, body, body.capacity());
        if (!inspected) {
            return fail(std::move(inspected).error());
        }
        static_cast<api::InboundRequest&>(out) = std::move(*inspected);
        return out;
    }
    auto parsed = messages_api::parse(*messages, body);
    if (!parsed) {
        return fail(std::move(parsed).error());
    }
    static_cast<api::InboundRequest&>(out) = parsed->inbound;
    out.max_tokens =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, parsed->max_tokens.value_or(0)));
    out.include_usage = true;  // Anthropic streams always report usage
    out.messages_endpoint = messages;
    out.messages = std::move(*parsed);
    out.client_headers.anthropic_version = header_value(ex.headers, "anthropic-version");
    out.client_headers.anthropic_beta = header_value(ex.headers, "anthropic-beta");
    if (*messages == messages_api::Endpoint::Messages && out.stream) {
        out.input_tokens_estimate = messages_api::estimate_input_tokens(body).value_or(0);
    }
    return out;
}

// Everything an attempt needs besides the connection.
struct AttemptPlan {
    const config::Target* target = nullptr;
    const config::Provider* provider = nullptr;
    const providers::Adapter* adapter = nullptr;  // nullptr: OpenAI format, forwarded as is
    api::Endpoint endpoint = api::Endpoint::ChatCompletions;
    std::string_view upstream_model;
    Clock::time_point deadline;  // the request's total deadline
};

http::UpstreamTimeouts timeouts_for(const config::Target& t, Clock::time_point deadline,
                                    Clock::time_point now) {
    http::UpstreamTimeouts out;
    out.connect = t.timeouts.connect;
    out.first_byte = t.timeouts.first_byte;
    out.idle = t.timeouts.idle;
    out.total = t.timeouts.total;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    const auto bounded = std::max(std::chrono::milliseconds(1), left);
    out.total = std::min(out.total, bounded);
    out.connect = std::min(out.connect, out.total);
    out.first_byte = std::min(out.first_byte, out.total);
    return out;
}

// An error event an OpenAI-format upstream sent as its stream's first event
// (`data: {"error":...}`), turned into an Error so that it can be retried.
std::optional<Error> stream_error_event(const config::Provider& provider, std::string_view events) {
    std::size_t pos = events.find("data:");
    if (pos == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view data = events.substr(pos + 5);
    while (!data.empty() && data.front() == ' ') {
        data.remove_prefix(1);
    }
    if (!data.starts_with("{\"error\"")) {
        return std::nullopt;
    }
    const std::size_t end = data.find('\n');
    std::string_view payload = data.substr(0, end);
    // An error inside a 200 stream carries no status; treat it as the server error it is.
    return providers::openai::map_error(provider, 500, payload, {});
}

// An Anthropic `event: error` among the first events of a native Messages stream (before
// anything reached the client), as an Error that may be retried elsewhere.
std::optional<Error> anthropic_stream_error(const providers::Adapter& adapter,
                                            const config::Provider& provider,
                                            std::string_view events) {
    std::size_t at = events.find("event: error");
    if (at == std::string_view::npos) {
        at = events.find("event:error");
    }
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    std::size_t pos = events.find("data:", at);
    if (pos == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view data = events.substr(pos + 5);
    while (!data.empty() && data.front() == ' ') {
        data.remove_prefix(1);
    }
    const std::string_view payload = data.substr(0, data.find_first_of("\r\n"));
    // The event carries no status; Anthropic's documented status for its error type.
    int status = 500;
    if (payload.find("\"overloaded_error\"") != std::string_view::npos) {
        status = 529;
    } else if (payload.find("\"rate_limit_error\"") != std::string_view::npos) {
        status = 429;
    } else if (payload.find("\"timeout_error\"") != std::string_view::npos) {
        status = 504;
    }
    return adapter.map_error(provider, status, payload, {});
}

std::optional<double> price_of(const config::Target& t, const std::optional<api::Usage>& u) {
    if (!t.price || !u) {
        return std::nullopt;
    }
    return api::cost(*t.price, *u);
}

// Adds the attempt that answered the client to the exchange's attempt log, with its usage and
// cost, which become the exchange's.
void record_committed_attempt(Exchange& ex, const AttemptPlan& p, AttemptResult& r,
                              Clock::time_point started) {
    AttemptRecord rec;
    rec.target = p.target->name;
    rec.provider = p.provider->name;
    rec.upstream_model = std::string(p.upstream_model);
    rec.started = started;
    rec.duration = Clock::now() - started;
    rec.status = ex.status;
    rec.error_code = ex.error_code;
    rec.usage = r.usage;
    rec.cost = price_of(*p.target, r.usage);
    ex.usage = r.usage;
    ex.cost = rec.cost;
    ex.attempt_log.push_back(std::move(rec));
    r.finalized = true;
}

// Runs one attempt against one target: builds the upstream request (forwarding the bytes with
// the model rewritten, or through the adapter), and answers the client once there is something
// to answer with. Failures before that are returned, not sent.
template <typename Stream>
awaitable<AttemptResult> run_attempt(Stream& s, const std::shared_ptr<Conn>& c, Exchange& ex,
                                     const AttemptPlan& p, const ClientRequest& inbound,
                                     const std::string& body) {
    Worker& w = c->worker;
    AttemptResult r;
    const Clock::time_point started = Clock::now();
    // The attempt's record joins the exchange before the response's last write (see
    // Exchange::before_last_write); proxy() adds it afterwards only when no last write happened.
    struct Finalize {
        Exchange& ex;
        const AttemptPlan& p;
        AttemptResult& r;
        Clock::time_point started;
    } finalize{ex, p, r, started};
    // One pointer: fits std::function's small buffer, so no allocation per attempt.
    ex.finalize_attempt = [f = &finalize] {
        record_committed_attempt(f->ex, f->p, f->r, f->started);
    };
    struct ClearFinalize {
        Exchange& ex;
        ~ClearFinalize() { ex.finalize_attempt = nullptr; }
    } clear_finalize{ex};
    auto failed = [&](Error e) {
        r.error = std::move(e);
        r.outcome.failure = routing::classify(r.error);
        r.outcome.duration = Clock::now() - started;
        return r;
    };
    auto committed = [&](bool reusable) {
        r.committed = true;
        r.reusable = reusable;
        r.outcome.duration = Clock::now() - started;
        if (r.usage) {
            r.outcome.output_tokens = r.usage->completion_tokens;
        }
        return r;
    };

    // Anthropic Messages: an Anthropic target gets the client's bytes (native), any other the
    // OpenAI chat body translated from them, and its answer translated back.
    const bool messages = inbound.messages_endpoint.has_value();
    const bool count_tokens =
        messages && *inbound.messages_endpoint == messages_api::Endpoint::CountTokens;
    const bool native = messages && p.provider->type == config::ProviderType::Anthropic;
    const bool to_anthropic = messages && !native;  // the answer is translated into Anthropic's

    providers::ChatContext ctx;
    ctx.public_model = ex.model;
    ctx.upstream_model = std::string(p.upstream_model);
    ctx.stream = inbound.stream;
    ctx.include_usage = inbound.include_usage;
    ctx.response_id = "chatcmpl-" + ex.request_id.substr(4);
    ctx.created = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();

    // Embeddings take the non-stream path below (inspect_request refuses `stream` for them).
    const bool embeddings = p.endpoint == api::Endpoint::Embeddings;
    providers::EmbeddingsContext embeddings_ctx;
    embeddings_ctx.public_model = ex.model;
    embeddings_ctx.upstream_model = std::string(p.upstream_model);

    messages_api::ResponseContext response_ctx;
    if (to_anthropic) {
        response_ctx.message_id = "msg_" + ex.request_id.substr(4);
        response_ctx.model = inbound.model;
        response_ctx.stop_sequences = inbound.messages.stop_sequences;
        response_ctx.input_tokens_estimate = inbound.input_tokens_estimate;
        response_ctx.upstream = std::string(config::to_string(p.provider->type));
    }

    http::UpstreamRequest up;
    bool strip_usage = false;
    std::string chat_body;  // Anthropic Messages for a non-Anthropic target: the OpenAI body
    if (to_anthropic && !count_tokens) {
        auto options = messages_api::target_options_for(p.provider->type);
        options.model = std::string(p.upstream_model);
        auto translated_body = messages_api::to_openai_chat(body, options);
        if (!translated_body) {
            co_return failed(std::move(translated_body).error());
        }
        chat_body = std::move(*translated_body);
    }
    if (native) {
        auto built = messages_api::native_request(*p.provider, *inbound.messages_endpoint, body,
                                                  inbound.messages, p.upstream_model,
                                                  inbound.client_headers);
        if (!built) {
            co_return failed(std::move(built).error());
        }
        up = std::move(*built);
    } else if (count_tokens) {
        // Only Anthropic counts with its own tokenizer; elsewhere the documented estimate,
        // answered here without an upstream call.
        r.local = true;
        auto counted = messages_api::count_tokens_response(body);
        if (!counted) {
            co_return failed(std::move(counted).error());
        }
        bool reusable = co_await send_response(s, ex, 200, "application/json", *counted);
        co_return committed(reusable);
    } else if (p.adapter != nullptr) {
        const std::string_view request_body = to_anthropic ? std::string_view(chat_body) : body;
        auto built = embeddings
                         ? p.adapter->build_embeddings(*p.provider, request_body, embeddings_ctx)
                         : p.adapter->build_chat(*p.provider, request_body, ctx);
        if (!built) {
            co_return failed(std::move(built).error());
        }
        up = std::move(*built);
    } else if (to_anthropic) {
        up = w.request_template(*p.target, *p.provider, p.endpoint, p.upstream_model);
        up.body = std::move(chat_body);  // already names the upstream model, asks for usage
    } else {
        up = w.request_template(*p.target, *p.provider, p.endpoint, p.upstream_model);
        if (p.upstream_model == inbound.model) {
            up.body = body;
        } else {
            up.body = api::rewrite_model(body, inbound, p.upstream_model);
        }
        // OpenAI and Azure report a stream's usage only when asked: ask, and keep the usage
        // chunk from a client that did not (its cost and limits need the counts).
        if (inbound.stream && !inbound.include_usage && !inbound.has_stream_options &&
            p.endpoint != api::Endpoint::Embeddings &&
            (p.provider->type == config::ProviderType::OpenAI ||
             p.provider->type == config::ProviderType::Azure)) {
            up.body = api::with_stream_usage(up.body);
            strip_usage = true;
        }
    }
    up.timeouts = timeouts_for(*p.target, p.deadline, started);

    UpstreamCall call(*c, std::move(up), started);
    std::shared_ptr<http::Transfer> tr = c->transfer;
    const Error shutting_down{ErrorCode::Unavailable, "The gateway is shutting down."};

    while (!tr->headers_received() && !tr->finished() && !c->client_gone && !c->abort) {
        co_await wait_wake(*c);
    }
    if (c->client_gone) {
        co_return committed(false);
    }
    if (c->abort) {
        tr->cancel();
        ex.keep_alive = false;
        co_await send_error(s, ex, shutting_down);
        co_return committed(false);
    }
    if (tr->phase() == http::Transfer::Phase::Failed) {
        ex.upstream_time += tr->finished_at() - started;
        co_return failed(tr->error());
    }
    r.outcome.ttft = tr->headers_at() - started;
    const int status = tr->status();
    const bool success = status >= 200 && status < 300;
    const bool has_adapter = p.adapter != nullptr;
    // The answer is translated (an adapter's format to OpenAI's, then for Anthropic Messages to
    // Anthropic's), or forwarded as is (OpenAI-format passthrough, native Anthropic).
    const bool translated = to_anthropic || (has_adapter && !native);
    const bool streaming = success && inbound.stream &&
                           (translated || tr->content_type().starts_with("text/event-stream"));

    if (!streaming) {
        while (!tr->finished() && !c->client_gone && !c->abort) {
            co_await wait_wake(*c);
        }
        if (c->client_gone) {
            co_return committed(false);
        }
        if (c->abort) {
            tr->cancel();
            ex.keep_alive = false;
            co_await send_error(s, ex, shutting_down);
            co_return committed(false);
        }
        ex.upstream_time += tr->finished_at() - started;
        if (tr->phase() == http::Transfer::Phase::Failed) {
            co_return failed(tr->error());
        }
        std::string response;
        tr->take_data(response);
        unwatch_client(*c);
        if (!success) {
            Error e = has_adapter ? p.adapter->map_error(*p.provider, status, response,
                                                         tr->retry_after(), tr->error_type())
                                  : providers::openai::map_error(*p.provider, status, response,
                                                                 tr->retry_after());
            r.outcome.retry_after =
                routing::parse_retry_after(tr->retry_after(), std::chrono::system_clock::now());
            co_return failed(std::move(e));
        }
        if (to_anthropic) {
            auto out = messages_api::anthropic_response(p.adapter, response, ctx, response_ctx);
            if (!out) {
                co_return failed(std::move(out).error());
            }
            if (auto u = api::AnthropicUsage::from_message(*out)) {
                r.usage = u->to_usage();
            }
            ex.cost = price_of(*p.target, r.usage);
            bool reusable = co_await send_response(s, ex, 200, "application/json", *out);
            co_return committed(reusable);
        }
        if (translated) {
            auto out = embeddings
                           ? p.adapter->translate_embeddings_response(response, embeddings_ctx)
                           : p.adapter->translate_chat_response(response, ctx);
            if (!out) {
                co_return failed(std::move(out).error());
            }
            r.usage = api::find_usage(*out);
            ex.cost = price_of(*p.target, r.usage);
            bool reusable = co_await send_response(s, ex, 200, "application/json", *out);
            co_return committed(reusable);
        }
        std::string_view ct = tr->content_type().empty() ? std::string_view("application/json")
                                                         : std::string_view(tr->content_type());
        if (native) {
            if (auto u = api::AnthropicUsage::from_message(response)) {
                r.usage = u->to_usage();
            }
        } else {
            r.usage = api::find_usage(response);
        }
        ex.cost = price_of(*p.target, r.usage);
        bool reusable = co_await send_response(s, ex, status, ct, response);
        co_return committed(reusable);
    }

    // A stream: nothing goes to the client before the first complete event (translated: the
    // first translated event), so an error the upstream sends first is still retryable.
    std::unique_ptr<providers::StreamDecoder> decoder;
    messages_api::InboundStream* messages_stream = nullptr;  // in `decoder`, for its pings
    if (to_anthropic) {
        auto chained = std::make_unique<messages_api::InboundStream>(
            has_adapter ? p.adapter->make_chat_stream_decoder(ctx) : nullptr, response_ctx);
        messages_stream = chained.get();
        decoder = std::move(chained);
    } else if (translated) {
        decoder = p.adapter->make_chat_stream_decoder(ctx);
    }
    // Usage seen so far: OpenAI's comes whole in one chunk, Anthropic's in pieces.
    api::AnthropicUsage anthropic_usage;
    auto note_usage = [&](std::string_view events) {
        if (messages) {
            if (anthropic_usage.update_from_events(events)) {
                r.usage = anthropic_usage.to_usage();
            }
            return false;
        }
        if (auto u = api::find_stream_usage(events)) {
            r.usage = u;
            return true;
        }
        return false;
    };
    // Anthropic streams get `event: ping` after this much upstream silence once they started.
    const auto ping_interval = w.snapshot()->config().server.stream_ping_interval;
    Clock::time_point last_activity = Clock::now();
    bool head_sent = false;
    std::string pending;      // passthrough: bytes not yet forwarded
    std::size_t scanned = 0;  // bytes of `pending` already searched for an event boundary
    std::string in;
    std::string out;
    for (;;) {
        if (c->client_gone) {
            co_return committed(false);
        }
        if (c->abort) {
            tr->cancel();
            ex.keep_alive = false;
            co_await fail_exchange(s, ex, head_sent,
                                   Error{ErrorCode::Unavailable,
                                         "The gateway is shutting down; the stream was ended."});
            co_return committed(false);
        }
        if (tr->buffered() > 0) {
            last_activity = Clock::now();
            if (translated) {
                in.clear();
                tr->take_data(in);
                Status fed = decoder->feed(in, out);
                if (!fed) {
                    tr->cancel();
                    out.clear();
                    if (!head_sent) {
                        ex.upstream_time += Clock::now() - started;
                        co_return failed(std::move(fed).error());
                    }
                    bool reusable = co_await fail_exchange(s, ex, true, fed.error());
                    co_return committed(reusable);
                }
                if (!out.empty() && !head_sent) {
                    ex.upstream_time += Clock::now() - started;
                    r.outcome.ttft = Clock::now() - started;
                }
                note_usage(out);
                if (!co_await write_translated(s, ex, head_sent, out)) {
                    co_return committed(false);
                }
                continue;
            }
            tr->take_data(pending);
            std::size_t end = complete_events_end(pending, scanned);
            scanned = pending.size();
            if (end > 0) {
                std::string_view events = std::string_view(pending).substr(0, end);
                if (!head_sent) {
                    auto e = native ? anthropic_stream_error(*p.adapter, *p.provider, events)
                                    : stream_error_event(*p.provider, events);
                    if (e) {
                        tr->cancel();
                        ex.upstream_time += Clock::now() - started;
                        co_return failed(std::move(*e));
                    }
                    ex.upstream_time += Clock::now() - started;
                    r.outcome.ttft = Clock::now() - started;
                    head_sent = true;
                    std::string head = stream_head(status, tr->content_type(), ex);
                    if (!co_await write_one(s, ex, head)) {
                        co_return committed(false);
                    }
                }
                if (note_usage(events)) {
                    if (strip_usage) {
                        std::string kept(events);
                        api::strip_usage_chunks(kept);
                        pending.replace(0, end, kept);
                        end = kept.size();
                        events = std::string_view(pending).substr(0, end);
                    }
                }
                if (!events.empty() && !co_await write_chunk(s, ex, events)) {
                    co_return committed(false);
                }
                pending.erase(0, end);
                scanned = 0;
            } else if (pending.size() > kMaxPendingEvent) {
                tr->cancel();
                Error e{ErrorCode::UpstreamBadResponse,
                        fmt::format("The upstream sent an event larger than {} bytes.",
                                    kMaxPendingEvent)};
                if (!head_sent) {
                    co_return failed(std::move(e));
                }
                bool reusable = co_await fail_exchange(s, ex, true, e);
                co_return committed(reusable);
            }
            continue;
        }
        if (tr->finished()) {
            if (tr->phase() == http::Transfer::Phase::Failed) {
                if (!head_sent) {
                    ex.upstream_time += tr->finished_at() - started;
                    co_return failed(tr->error());
                }
                // A partial event is dropped: the error event must stand on its own.
                bool reusable = co_await fail_exchange(s, ex, true, tr->error());
                co_return committed(reusable);
            }
            if (translated) {
                Status done = decoder->finish(out);
                if (!done) {
                    out.clear();
                    if (!head_sent) {
                        ex.upstream_time += tr->finished_at() - started;
                        co_return failed(std::move(done).error());
                    }
                    bool reusable = co_await fail_exchange(s, ex, true, done.error());
                    co_return committed(reusable);
                }
                if (!head_sent && out.empty()) {
                    ex.upstream_time += tr->finished_at() - started;
                    co_return failed(
                        Error{ErrorCode::UpstreamBadResponse, "The upstream stream was empty."});
                }
                note_usage(out);
                if (!co_await write_translated(s, ex, head_sent, out)) {
                    co_return committed(false);
                }
            } else {
                if (!head_sent) {
                    if (pending.empty()) {
                        ex.upstream_time += tr->finished_at() - started;
                        co_return failed(Error{ErrorCode::UpstreamBadResponse,
                                               "The upstream stream was empty."});
                    }
                    auto e = native ? anthropic_stream_error(*p.adapter, *p.provider, pending)
                                    : stream_error_event(*p.provider, pending);
                    if (e) {
                        ex.upstream_time += tr->finished_at() - started;
                        co_return failed(std::move(*e));
                    }
                    ex.upstream_time += tr->finished_at() - started;
                    head_sent = true;
                    std::string head = stream_head(status, tr->content_type(), ex);
                    if (!co_await write_one(s, ex, head)) {
                        co_return committed(false);
                    }
                }
                if (note_usage(pending) && strip_usage) {
                    api::strip_usage_chunks(pending);
                }
                if (!pending.empty() && !co_await write_chunk(s, ex, pending)) {
                    co_return committed(false);
                }
            }
            bool reusable = co_await end_stream(s, ex);
            co_return committed(reusable);
        }
        if (messages && head_sent) {
            // Anthropic's keep-alive: a ping after `ping_interval` of upstream silence (the
            // translator writes one only while a message is in progress).
            const Clock::time_point ping_at = last_activity + ping_interval;
            if (Clock::now() >= ping_at) {
                std::string ping;
                if (messages_stream != nullptr) {
                    messages_stream->ping(ping);
                } else {
                    ping = kAnthropicPing;
                }
                last_activity = Clock::now();
                if (!ping.empty() && !co_await write_chunk(s, ex, ping)) {
                    co_return committed(false);
                }
                continue;
            }
            co_await wait_wake_until(*c, ping_at);
            continue;
        }
        co_await wait_wake(*c);
    }
}

// The request's facts that conditional routing rules look at.
routing::RequestFacts request_facts(const Exchange& ex, const std::string& body,
                                    std::uint64_t max_tokens) {
    routing::RequestFacts facts;
    if (ex.headers != nullptr) {
        const bhttp::fields* headers = ex.headers;
        facts.header = [headers](std::string_view name) -> std::optional<std::string_view> {
            auto it = headers->find(name);
            if (it == headers->end()) {
                return std::nullopt;
            }
            return it->value();
        };
    }
    facts.metadata = [&body](std::string_view key) -> std::optional<std::string> {
        return api::metadata_value(body, key);
    };
    facts.input_tokens = body.size() / 4;
    facts.output_tokens = max_tokens > 0 ? max_tokens : 256;
    return facts;
}

Error no_target_error(const config::Model& model, const routing::Plan& plan) {
    if (plan.retry_after) {
        Error e{ErrorCode::RateLimited,
                fmt::format("Every target of model '{}' is cooling down after its provider "
                            "asked to slow down; retry later.",
                            model.name)};
        const auto secs = std::chrono::ceil<std::chrono::seconds>(*plan.retry_after).count();
        e.retry_after = std::to_string(std::max<long long>(1, secs));
        return e;
    }
    return Error{ErrorCode::Unavailable,
                 fmt::format("No target of model '{}' can take the request now.", model.name)};
}

// The policy chain's first step: who is calling. Without `auth:` everyone is anonymous.
Result<governance::Principal> authenticate(Worker& w, Exchange& ex) {
    governance::Governance* gov = w.governance();
    if (gov == nullptr || !gov->enabled()) {
        governance::Principal anonymous;
        anonymous.id = "anonymous";
        return anonymous;
    }
    std::string_view authorization;
    std::string_view x_api_key;
    if (ex.headers != nullptr) {
        if (auto it = ex.headers->find(bhttp::field::authorization); it != ex.headers->end()) {
            authorization = it->value();
        }
        if (auto it = ex.headers->find("x-api-key"); it != ex.headers->end()) {
            x_api_key = it->value();
        }
    }
    auto who = gov->authenticate(authorization, x_api_key);
    if (who) {
        ex.principal = who->id;
        ex.team = who->team;
    }
    return who;
}

// The worst prices a request to a model may pay: admission reserves budgets with them.
config::Price worst_price(const config::Model& model) {
    config::Price worst;
    for (const config::Target& t : model.targets) {
        if (t.price) {
            worst.input = std::max(worst.input, t.price->input);
            worst.output = std::max(worst.output, t.price->output);
            worst.cached_input = std::max(worst.cached_input, t.price->cached_input);
        }
    }
    return worst;
}

// Authorisation and admission (rate limits, budgets) for a served model. On success the
// x-ratelimit-* headers go with the answer; on a 429 too, with Retry-After.
Status admit(Worker& w, Exchange& ex, const governance::Principal& who, const config::Model& model,
             std::size_t body_bytes, std::uint64_t max_tokens,
             std::optional<governance::Admission>& admission, governance::Estimate& estimate) {
    governance::Governance* gov = w.governance();
    if (gov == nullptr || !gov->enabled()) {
        return {};
    }
    if (auto ok = gov->authorize(who, model.name); !ok) {
        return ok;
    }
    estimate.prompt_tokens = governance::estimate_prompt_tokens(body_bytes);
    estimate.max_tokens = max_tokens;
    estimate.price = worst_price(model);
    governance::RateLimitInfo info;
    auto adm = gov->admit(who, model.name, estimate, &info);
    for (auto& header : governance::rate_limit_headers(adm ? adm->info() : info)) {
        ex.extra_headers.push_back(std::move(header));
    }
    if (!adm) {
        return fail(std::move(adm).error());
    }
    admission.emplace(std::move(*adm));
    return {};
}

// Settles an admission when the request ends: to the answer's usage and cost when the upstream
// reported them; to the reservation when an answer went out without usage (the gateway cannot
// know, and a budget must not be overspent); not at all for a failed request (the admission's
// destructor releases its tokens and money).
struct Settle {
    std::optional<governance::Admission>& admission;
    const governance::Estimate& estimate;
    Exchange& ex;
    ~Settle() {
        if (!admission) {
            return;
        }
        if (ex.usage) {
            admission->settle(*ex.usage, ex.cost.value_or(0.0));
        } else if (ex.status >= 200 && ex.status < 300) {
            api::Usage u;
            u.prompt_tokens = estimate.prompt_tokens;
            const auto reserved =
                static_cast<std::uint64_t>(std::max<std::int64_t>(0, admission->reserved_tokens()));
            u.completion_tokens = reserved > u.prompt_tokens ? reserved - u.prompt_tokens : 0;
            admission->settle(u, api::cost(estimate.price, u));
        }
    }
};

// Proxies one request: picks targets by the model's strategy and health, and retries or falls
// back (within the retry budget and the total deadline) for as long as nothing has reached the
// client. `messages` is set for Anthropic's Messages API (/v1/messages, count_tokens; `ep` is
// then ChatCompletions, the OpenAI endpoint non-Anthropic targets are reached through);
// otherwise the request is OpenAI's `ep`. Returns whether the connection may serve another
// request.
template <typename Stream>
awaitable<bool> proxy(Stream& s, const std::shared_ptr<Conn>& c, Exchange& ex, api::Endpoint ep,
                      std::string body,
                      std::optional<messages_api::Endpoint> messages = std::nullopt) {
    Worker& w = c->worker;
    std::shared_ptr<const config::Snapshot> snap = w.snapshot();  // held for the whole request
    routing::Router& router = w.router();
    // Policy chain: authenticate (401) before the body or the model is looked at, then
    // authorise (403) and admit (429) for the model.
    auto who = authenticate(w, ex);
    if (!who) {
        co_return co_await send_error(s, ex, who.error());
    }
    auto inspected = read_client_request(ep, messages, body, ex);
    if (!inspected) {
        co_return co_await send_error(s, ex, inspected.error());
    }
    const config::Model* model = snap->find_model(inspected->model);
    if (model == nullptr) {
        co_return co_await send_error(s, ex, model_not_found(inspected->model));
    }
    ex.model = model->name;
    std::optional<governance::Admission> admission;
    governance::Estimate estimate;
    auto admitted =
        admit(w, ex, *who, *model, body.size(), inspected->max_tokens, admission, estimate);
    if (!admitted) {
        co_return co_await send_error(s, ex, admitted.error());
    }
    Settle settle{admission, estimate, ex};
    router.on_request();
    routing::RequestFacts facts = request_facts(ex, body, inspected->max_tokens);
    facts.team = ex.team;
    const Clock::time_point deadline = ex.started + model->retry.total_deadline;
    std::vector<const config::Model*> visited{model};
    routing::Plan plan = router.plan(*model, facts, w.rng(), Clock::now());
    std::size_t next = 0;            // position in plan.order of the next target to try
    int model_attempts = 0;          // attempts on the current model
    std::vector<std::size_t> tried;  // target indices tried on the current model
    std::optional<Error> last;

    // Switches to the model's fallback for a failure class, if it has one not yet visited.
    auto fall_back = [&](routing::Failure f) {
        const auto on = routing::fallback_on(f);
        if (!on) {
            return false;
        }
        for (const auto& [cls, name] : model->fallbacks) {
            if (cls != *on) {
                continue;
            }
            const config::Model* fb = snap->find_model(name);
            if (fb == nullptr || std::find(visited.begin(), visited.end(), fb) != visited.end()) {
                return false;
            }
            visited.push_back(fb);
            model = fb;
            plan = router.plan(*model, facts, w.rng(), Clock::now());
            next = 0;
            model_attempts = 0;
            tried.clear();
            return true;
        }
        return false;
    };

    for (;;) {
        // The next target: in plan order, wrapping around, skipping targets that are full or
        // started cooling down since the plan was made.
        const config::Target* target = nullptr;
        if (model_attempts < model->retry.max_attempts) {
            for (std::size_t k = 0; k < plan.order.size() && target == nullptr; ++k) {
                const config::Target* t = plan.order[(next + k) % plan.order.size()];
                if (router.try_start(*t, Clock::now())) {
                    target = t;
                    next = (next + k + 1) % plan.order.size();
                }
            }
        }
        if (target == nullptr) {
            const routing::Failure f = last ? routing::classify(*last)
                                            : (plan.retry_after ? routing::Failure::RateLimited
                                                                : routing::Failure::Server);
            if (fall_back(f)) {
                continue;
            }
            Error e = last ? std::move(*last) : no_target_error(*model, plan);
            co_return co_await send_error(s, ex, e);
        }
        const bool retry = ex.attempts > 0;
        const bool again = std::find(tried.begin(), tried.end(), target->index) != tried.end();
        if (retry && !router.try_retry()) {
            router.release(*target);
            co_return co_await send_error(s, ex, *last);
        }
        if (again) {
            // Retrying a target this request already tried: back off first (full jitter).
            auto pause = routing::backoff(model_attempts - 1, model->retry.backoff_base,
                                          model->retry.backoff_max, w.rng());
            const auto left = deadline - Clock::now();
            if (pause >= left) {
                router.release(*target);
                co_return co_await send_error(s, ex, *last);
            }
            asio::steady_timer timer(w.io(), pause);
            co_await timer.async_wait(kNoThrow);
        }
        if (Clock::now() >= deadline) {
            router.release(*target);
            Error e = last ? std::move(*last)
                           : Error{ErrorCode::UpstreamTimeout,
                                   "The request's total deadline passed before an upstream "
                                   "answered."};
            co_return co_await send_error(s, ex, e);
        }
        if (c->client_gone) {
            router.release(*target);
            co_return false;
        }

        ++model_attempts;
        tried.push_back(target->index);
        ++ex.attempts;
        AttemptPlan p;
        p.target = target;
        p.provider = &snap->provider_of(*target);
        p.adapter = w.adapter_for(*p.provider);
        p.endpoint = ep;
        p.upstream_model = target->upstream_model.empty()
                               ? std::string_view(inspected->model)
                               : std::string_view(target->upstream_model);
        p.deadline = deadline;
        ex.provider = p.provider->name;
        ex.target = std::string(p.upstream_model);
        ex.target_name = target->name;
        if (p.adapter != nullptr && ep == api::Endpoint::Completions) {
            router.release(*target);
            co_return co_await send_error(
                s, ex,
                Error{ErrorCode::InvalidRequest,
                      fmt::format("The model '{}' is served by provider type {}, which this "
                                  "gateway reaches only through /v1/chat/completions and "
                                  "/v1/embeddings.",
                                  model->name, config::to_string(p.provider->type)),
                      "model"});
        }

        const Clock::time_point attempt_started = Clock::now();
        AttemptResult r = co_await run_attempt(s, c, ex, p, *inspected, body);
        if (r.local) {
            router.release(*target);  // no upstream call: nothing to learn about the target
        } else {
            router.finish(*target, r.outcome, Clock::now());
        }
        AttemptRecord rec;
        rec.target = target->name;
        rec.provider = p.provider->name;
        rec.upstream_model = std::string(p.upstream_model);
        rec.started = attempt_started;
        rec.duration = r.outcome.duration;
        if (r.committed) {
            if (!r.finalized) {  // the client went away before the last write
                record_committed_attempt(ex, p, r, attempt_started);
            }
            co_return r.reusable;
        }
        rec.status = http_status(r.error);
        rec.error_code = std::string(error_code_name(r.error));
        rec.failure = routing::to_string(r.outcome.failure);
        ex.attempt_log.push_back(std::move(rec));
        const routing::Failure f = r.outcome.failure;
        last = std::move(r.error);
        if (routing::retryable(f)) {
            continue;
        }
        if (fall_back(f)) {
            continue;
        }
        co_return co_await send_error(s, ex, *last);
    }
}

struct Route {
    std::string_view path;
    std::string_view method;
};

template <typename Stream>
awaitable<bool> dispatch(Stream& s, const std::shared_ptr<Conn>& c, Exchange& ex,
                         bhttp::verb method, std::string_view target, std::string body) {
    Worker& w = c->worker;
    std::string_view path = target.substr(0, target.find('?'));
    auto wrong_method = [&](std::string_view allowed) {
        return Error{ErrorCode::MethodNotAllowed,
                     fmt::format("Method {} is not allowed for {}; use {}.",
                                 std::string_view(bhttp::to_string(method)), path, allowed),
                     std::string(allowed)};
    };
    auto post_endpoint = [](std::string_view p) -> std::optional<api::Endpoint> {
        if (p == "/v1/chat/completions") {
            return api::Endpoint::ChatCompletions;
        }
        if (p == "/v1/completions") {
            return api::Endpoint::Completions;
        }
        if (p == "/v1/embeddings") {
            return api::Endpoint::Embeddings;
        }
        return std::nullopt;
    };
    if (c->admin) {
        if (path == "/admin/targets") {
            if (method != bhttp::verb::get) {
                co_return co_await send_error(s, ex, wrong_method("GET"));
            }
            std::string json =
                w.router().admin_json(Clock::now(), std::chrono::system_clock::now());
            co_return co_await send_response(s, ex, 200, "application/json", json);
        }
        if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
            co_return co_await send_error(
                s, ex,
                Error{ErrorCode::NotFound,
                      fmt::format("Unknown admin URL: {} {}. The admin listener serves "
                                  "/admin/targets, /metrics, /healthz and /readyz.",
                                  std::string_view(bhttp::to_string(method)), path)});
        }
    }
    ex.endpoint = path;
    if (const auto* log = w.access_log(); log != nullptr && log->keeps_bodies()) {
        ex.capture_bodies = true;
        ex.request_body.assign(body.data(), std::min(body.size(), Exchange::kMaxLoggedBody));
    }
    ex.method = method;
    if (auto ep = post_endpoint(path)) {
        if (const auto* log = w.access_log(); log != nullptr && !log->accepting()) {
            co_return co_await send_error(
                s, ex,
                Error{ErrorCode::Unavailable,
                      "The access log is full; new requests are refused until it drains."});
        }
        if (method != bhttp::verb::post) {
            co_return co_await send_error(s, ex, wrong_method("POST"));
        }
        co_return co_await proxy(s, c, ex, *ep, std::move(body));
    }
    if (path == "/v1/messages" || path == "/v1/messages/count_tokens") {
        if (method != bhttp::verb::post) {
            co_return co_await send_error(s, ex, wrong_method("POST"));
        }
        const messages_api::Endpoint messages = path == "/v1/messages"
                                                    ? messages_api::Endpoint::Messages
                                                    : messages_api::Endpoint::CountTokens;
        co_return co_await proxy(s, c, ex, api::Endpoint::ChatCompletions, std::move(body),
                                 messages);
    }
    if (path == "/v1/models" || path.starts_with("/v1/models/")) {
        if (method != bhttp::verb::get) {
            co_return co_await send_error(s, ex, wrong_method("GET"));
        }
        // With governance on, the caller must authenticate and sees only models it may use.
        auto who = authenticate(w, ex);
        if (!who) {
            co_return co_await send_error(s, ex, who.error());
        }
        governance::Governance* gov = w.governance();
        auto visible = [&](std::string_view name) {
            return gov == nullptr || !gov->enabled() || gov->authorize(*who, name).has_value();
        };
        if (path == "/v1/models") {
            std::string all = models_body(*w.snapshot(), {}, visible);
            co_return co_await send_response(s, ex, 200, "application/json", all);
        }
        std::string_view id = path.substr(11);
        std::string one = models_body(*w.snapshot(), id, visible);
        if (one.empty()) {
            co_return co_await send_error(s, ex, model_not_found(id));
        }
        co_return co_await send_response(s, ex, 200, "application/json", one);
    }
    if (path == "/metrics") {
        if (method != bhttp::verb::get) {
            co_return co_await send_error(s, ex, wrong_method("GET"));
        }
        std::string text = w.registry().render();
        if (const auto* log = w.access_log()) {
            log->append_prometheus(text);
        }
        co_return co_await send_response(s, ex, 200, "text/plain; version=0.0.4; charset=utf-8",
                                         text);
    }
    if (path == "/healthz" || path == "/readyz") {
        if (method != bhttp::verb::get && method != bhttp::verb::head) {
            co_return co_await send_error(s, ex, wrong_method("GET"));
        }
        if (path == "/readyz" && w.draining()) {
            co_return co_await send_response(s, ex, 503, "application/json",
                                             R"({"status":"draining"})");
        }
        co_return co_await send_response(
            s, ex, 200, "application/json",
            path == "/healthz" ? R"({"status":"ok"})" : R"({"status":"ready"})");
    }
    co_return co_await send_error(
        s, ex,
        Error{ErrorCode::NotFound,
              fmt::format("Unknown request URL: {} {}. Please check the URL for typos.",
                          std::string_view(bhttp::to_string(method)), path)});
}

// The request target of the request line at the start of `buf` ("" when there is none).
std::string_view request_line_target(const beast::flat_buffer& buf) {
    const auto data = buf.data();
    std::string_view raw(static_cast<const char*>(data.data()), data.size());
    raw = raw.substr(0, raw.find_first_of("\r\n"));
    const std::size_t first = raw.find(' ');
    if (first == std::string_view::npos) {
        return {};
    }
    raw.remove_prefix(first + 1);
    return raw.substr(0, raw.find(' '));
}

// /v1/messages and anything under it (count_tokens, unknown sub-paths): Anthropic's API.
bool is_messages_path(std::string_view target) {
    const std::string_view path = target.substr(0, target.find('?'));
    return path == "/v1/messages" || path.starts_with("/v1/messages/");
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

// Serves one connection: requests in sequence (keep-alive) until either side closes.
template <typename Stream>
awaitable<void> serve(Stream& s, std::shared_ptr<Conn> c) {
    Worker& w = c->worker;
    const config::Server& limits = w.snapshot()->config().server;
    beast::flat_buffer buf;
    bool first = true;
    for (;;) {
        c->idle = true;
        if (w.draining()) {
            co_return;
        }
        Exchange ex;
        Recorder recorder{w, ex};
        ex.record = [&recorder] { recorder.record(); };
        if (buf.size() == 0) {
            // Waiting for the next request: idle timeout on keep-alive, head timeout on a new
            // connection (a client that connects and sends nothing gets 408).
            arm_deadline(c, first ? limits.header_timeout : limits.idle_timeout);
            auto [ec, n] = co_await s.async_read_some(buf.prepare(16 * 1024), kNoThrow);
            disarm_deadline(*c);
            if (ec) {
                if (c->timed_out && first && !w.draining()) {
                    ex.request_id = w.next_request_id();
                    ex.started = Clock::now();
                    ex.keep_alive = false;
                    co_await send_error(s, ex,
                                        Error{ErrorCode::RequestTimeout,
                                              "The request head was not received in time."});
                }
                co_return;
            }
            buf.commit(n);
        }
        first = false;
        c->idle = false;
        ex.conn = c.get();
        ex.request_id = w.next_request_id();
        ex.started = Clock::now();

        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
        parser.body_limit(limits.max_body_bytes);
        arm_deadline(c, limits.header_timeout);
        auto [hec, hn] = co_await bhttp::async_read_header(s, buf, parser, kNoThrow);
        (void)hn;
        disarm_deadline(*c);
        // Errors on Anthropic's routes have Anthropic's shape, from the head on (a head that
        // failed, e.g. too large, may not have been parsed: then its request line is read
        // from the bytes received).
        ex.anthropic = hec && parser.get().target().empty()
                           ? is_messages_path(request_line_target(buf))
                           : is_messages_path(parser.get().target());
        if (hec) {
            ex.keep_alive = false;
            if (c->timed_out) {
                co_await send_error(
                    s, ex,
                    Error{ErrorCode::RequestTimeout, "The request head was not received in time."});
            } else if (hec == bhttp::error::body_limit) {
                // Beast checks Content-Length against the body limit while reading the head.
                co_await send_error(s, ex,
                                    Error{ErrorCode::PayloadTooLarge,
                                          fmt::format("The request body exceeds {} bytes.",
                                                      limits.max_body_bytes)});
            } else if (hec == bhttp::error::header_limit) {
                co_await send_error(s, ex,
                                    Error{ErrorCode::HeadersTooLarge,
                                          fmt::format("The request head exceeds {} bytes.",
                                                      limits.max_header_bytes)});
            } else if (hec != bhttp::error::end_of_stream && hec != asio::error::eof &&
                       hec != asio::error::connection_reset) {
                co_await send_error(
                    s, ex,
                    Error{ErrorCode::BadFraming,
                          fmt::format("Malformed request head: {}.", hec.message())});
            }
            co_return;
        }
        auto& req = parser.get();
        if (w.exporter() != nullptr) {
            ex.traceparent = std::string(req["traceparent"]);
            ex.operation = telemetry::otlp::operation_for_path(req.target());
        }
        ex.keep_alive = req.keep_alive() && !w.draining();
        ex.http10 = req.version() < 11;
        ex.head_only = req.method() == bhttp::verb::head;
        // RFC 9112 §6.3: a Transfer-Encoding other than chunked, or any on HTTP/1.0, leaves
        // the body length unknown; reading on would let the body pose as the next request.
        if (req.count(bhttp::field::transfer_encoding) > 0 && (!req.chunked() || ex.http10)) {
            ex.keep_alive = false;
            co_await send_error(s, ex,
                                Error{ErrorCode::BadFraming,
                                      "Unsupported Transfer-Encoding: only chunked is accepted "
                                      "(HTTP/1.1)."});
            co_return;
        }
        if (req.count(bhttp::field::content_length) > 0 &&
            req.count(bhttp::field::transfer_encoding) > 0) {
            ex.keep_alive = false;
            co_await send_error(s, ex,
                                Error{ErrorCode::BadFraming,
                                      "The request has both Content-Length and "
                                      "Transfer-Encoding; send only one."});
            co_return;
        }
        if (auto len = parser.content_length(); len && *len > limits.max_body_bytes) {
            ex.keep_alive = false;
            co_await send_error(
                s, ex,
                Error{ErrorCode::PayloadTooLarge,
                      fmt::format("The request body exceeds {} bytes.", limits.max_body_bytes)});
            co_return;
        }
        if (!parser.is_done()) {
            if (auto expect = req[bhttp::field::expect]; iequals(expect, "100-continue")) {
                if (!co_await write_one(s, ex, "HTTP/1.1 100 Continue\r\n\r\n")) {
                    co_return;
                }
            }
            if (auto len = parser.content_length()) {
                req.body().reserve(*len + api::kJsonPadding);
            }
            arm_deadline(c, limits.idle_timeout);
            auto [bec, bn] = co_await bhttp::async_read(s, buf, parser, kNoThrow);
            (void)bn;
            disarm_deadline(*c);
            if (bec) {
                ex.keep_alive = false;
                if (bec == bhttp::error::body_limit) {
                    co_await send_error(s, ex,
                                        Error{ErrorCode::PayloadTooLarge,
                                              fmt::format("The request body exceeds {} bytes.",
                                                          limits.max_body_bytes)});
                } else if (c->timed_out) {
                    co_await send_error(s, ex,
                                        Error{ErrorCode::RequestTimeout,
                                              "The request body was not received in time."});
                } else if (bec != bhttp::error::partial_message && bec != asio::error::eof) {
                    co_await send_error(
                        s, ex,
                        Error{ErrorCode::BadFraming,
                              fmt::format("Malformed request body: {}.", bec.message())});
                }
                co_return;
            }
        }
        std::string body = std::move(req.body());
        if (body.capacity() < body.size() + api::kJsonPadding) {
            body.reserve(body.size() + api::kJsonPadding);
        }
        ex.headers = &req.base();
        bool keep = co_await dispatch(s, c, ex, req.method(), req.target(), std::move(body));
        if (!keep || w.draining()) {
            co_return;
        }
    }
}

awaitable<void> session_plain(Worker& w, tcp::socket sock, bool admin) {
    auto c = std::make_shared<Conn>(w, sock);
    c->admin = admin;
    co_await serve(sock, c);
    boost::system::error_code ec;
    sock.shutdown(tcp::socket::shutdown_send, ec);
    sock.close(ec);
}

awaitable<void> session_tls(Worker& w, asio::ssl::stream<tcp::socket> stream) {
    auto c = std::make_shared<Conn>(w, stream.next_layer());
    c->tls = true;
    arm_deadline(c, w.snapshot()->config().server.header_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kNoThrow);
    disarm_deadline(*c);
    if (!ec) {
        co_await serve(stream, c);
    }
    boost::system::error_code ignored;
    stream.next_layer().close(ignored);
}

void log_failure(std::string_view what, std::exception_ptr e) {
    if (!e) {
        return;
    }
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("{} failed: {}", what, ex.what());
    }
}

}  // namespace

Worker::Worker(int index, std::shared_ptr<const config::Snapshot> snapshot, routing::Router& router,
               telemetry::Registry& registry)
    : index_(index),
      snapshot_(std::move(snapshot)),
      router_(router),
      upstream_(io_),
      sweep_timer_(io_),
      registry_(registry),
      metrics_(registry.add_worker()),
      rng_(snapshot_->config().routing.seed != 0
               ? snapshot_->config().routing.seed + static_cast<std::uint64_t>(index)
               : std::random_device{}()) {}

Worker::~Worker() {
    // Destroying io_ destroys suspended session frames, whose ~Conn calls remove(): it must not
    // stop a context that is being destroyed (conns_ outlives io_, see worker.h).
    destroying_ = true;
}

std::string Worker::next_request_id() {
    return fmt::format("req_{:016x}{:04x}", rng_(), (++request_counter_) & 0xFFFF);
}

void Worker::add(Conn* c) {
    conns_.insert(c);
    metrics_.set_open_connections(static_cast<std::int64_t>(conns_.size()));
}

void Worker::remove(Conn* c) {
    conns_.erase(c);
    if (!destroying_) {
        metrics_.set_open_connections(static_cast<std::int64_t>(conns_.size()));
    }
    if (draining_ && conns_.empty() && !destroying_) {
        io_.stop();
    }
}

Result<std::uint16_t> Worker::listen(const std::string& host, std::uint16_t port,
                                     asio::ssl::context* tls, bool admin) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) {
        return fail(ErrorCode::Internal, fmt::format("invalid listen address '{}'", host));
    }
    auto l = std::make_unique<Listener>(Listener{tcp::acceptor(io_), tls, false});
    tcp::endpoint ep(addr, port);
    l->acceptor.open(ep.protocol(), ec);
    if (!ec) {
        l->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
        l->acceptor.set_option(reuse_port(true), ec);
    }
    if (!ec) {
        l->acceptor.bind(ep, ec);
    }
    if (!ec) {
        l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return fail(ErrorCode::Internal,
                    fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
    }
    std::uint16_t bound = l->acceptor.local_endpoint().port();
    l->admin = admin;
    start_accepting(l->acceptor, tls, admin);
    listeners_.push_back(std::move(l));
    return bound;
}

void Worker::start_accepting(tcp::acceptor& acceptor, asio::ssl::context* tls, bool admin) {
    asio::co_spawn(
        io_,
        [](Worker& w, tcp::acceptor& acc, asio::ssl::context* ctx,
           bool admin_conn) -> awaitable<void> {
            for (;;) {
                auto [ec, sock] = co_await acc.async_accept(kNoThrow);
                if (ec) {
                    if (!acc.is_open() || w.draining() || ec == asio::error::operation_aborted) {
                        co_return;
                    }
                    continue;  // EMFILE and friends: keep serving what we have
                }
                boost::system::error_code ignored;
                sock.set_option(tcp::no_delay(true), ignored);
                if (ctx != nullptr) {
                    asio::co_spawn(
                        w.io(),
                        session_tls(w, asio::ssl::stream<tcp::socket>(std::move(sock), *ctx)),
                        [](std::exception_ptr e) { log_failure("TLS session", e); });
                } else {
                    asio::co_spawn(w.io(), session_plain(w, std::move(sock), admin_conn),
                                   [](std::exception_ptr e) { log_failure("session", e); });
                }
            }
        }(*this, acceptor, tls, admin),
        [](std::exception_ptr e) { log_failure("accept loop", e); });
}

void Worker::ensure_sweep() {
    if (sweeping_) {
        return;
    }
    sweeping_ = true;
    sweep_timer_.expires_after(kSweepInterval);
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
        sweeping_ = false;
        if (!ec) {
            sweep();
        }
    });
}

void Worker::sweep() {
    auto now = Clock::now();
    bool pending = false;
    for (Conn* c : conns_) {
        if (c->deadline_at <= now) {
            c->deadline_at = Clock::time_point::max();
            c->timed_out = true;
            boost::system::error_code ignored;
            c->socket.cancel(ignored);
        } else if (c->deadline_at != Clock::time_point::max()) {
            pending = true;
        }
        if (c->proxying) {
            pending = true;
            if (!c->watching && now - c->proxy_since >= kSweepInterval) {
                watch_client(c->shared_from_this());
            }
        }
    }
    if (pending) {
        ensure_sweep();
    }
}

const http::UpstreamRequest& Worker::request_template(const config::Target& target,
                                                      const config::Provider& provider,
                                                      api::Endpoint endpoint,
                                                      std::string_view upstream_model) {
    // Targets of glob models take the client's model name; their URL may hold it (Azure), so
    // they are keyed by it too.
    auto key = std::make_tuple(
        &target, endpoint,
        target.upstream_model.empty() ? std::string(upstream_model) : std::string());
    auto it = templates_.find(key);
    if (it == templates_.end()) {
        if (templates_.size() > kMaxTemplates) {
            templates_.clear();  // glob models with many distinct names: start over
        }
        http::UpstreamRequest req =
            providers::openai::build_request(provider, endpoint, upstream_model);
        req.header_list = std::make_shared<const http::HeaderList>(req.headers);
        req.headers.clear();
        it = templates_.emplace(std::move(key), std::move(req)).first;
    }
    return it->second;
}

const providers::Adapter* Worker::adapter_for(const config::Provider& provider) {
    auto it = adapters_.find(&provider);
    if (it == adapters_.end()) {
        it = adapters_.emplace(&provider, make_adapter(provider)).first;
    }
    return it->second.get();
}

void Worker::run() {
    io_.run();
}

void Worker::begin_drain() {
    asio::post(io_, [this] {
        if (draining_) {
            return;
        }
        draining_ = true;
        for (auto& l : listeners_) {
            boost::system::error_code ec;
            l->acceptor.close(ec);
        }
        for (Conn* c : conns_) {
            if (c->idle) {
                boost::system::error_code ec;
                c->socket.cancel(ec);
            }
        }
        if (conns_.empty()) {
            io_.stop();
            return;
        }
        drain_timer_.emplace(io_, snapshot_->config().server.drain_timeout);
        drain_timer_->async_wait([this](boost::system::error_code ec) {
            if (!ec) {
                on_drain_deadline();
            }
        });
    });
}

void Worker::on_drain_deadline() {
    // In-flight requests are out of time: each ends with an error (event) now; a client that
    // does not even take that within a second is cut off.
    for (Conn* c : conns_) {
        c->abort = true;
        c->wake.cancel();
    }
    drain_timer_->expires_after(std::chrono::seconds(1));
    drain_timer_->async_wait([this](boost::system::error_code ec) {
        if (ec) {
            return;
        }
        for (Conn* c : conns_) {
            boost::system::error_code ignored;
            c->socket.close(ignored);
        }
    });
}

void Worker::stop() {
    io_.stop();
}

}  // namespace sb::server
