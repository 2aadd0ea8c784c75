#include "http/upstream_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace sb::http {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

void global_init() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

namespace {

// A descriptor curl asked us to watch. Connection sockets are opened and closed through asio
// (CURLOPT_OPENSOCKETFUNCTION / CLOSESOCKETFUNCTION) so the reactor's registration is always
// removed before the descriptor number can be reused; other descriptors curl reports (the
// threaded resolver's wake-up pipe) are watched through a non-owning stream_descriptor.
struct Watched {
    std::optional<asio::ip::tcp::socket> socket;
    std::optional<asio::posix::stream_descriptor> foreign;
    int want = 0;  // CURL_POLL_IN / CURL_POLL_OUT bits
    bool read_pending = false;
    bool write_pending = false;
    // Bumped when pending waits are cancelled, so their (aborted) completions, which may run
    // after new waits were started, leave the pending flags alone.
    unsigned generation = 0;
    bool alive = true;

    template <typename Handler>
    void async_wait(asio::socket_base::wait_type type, Handler&& h) {
        if (socket) {
            socket->async_wait(type, std::forward<Handler>(h));
        } else {
            foreign->async_wait(type == asio::socket_base::wait_read
                                    ? asio::posix::descriptor_base::wait_read
                                    : asio::posix::descriptor_base::wait_write,
                                std::forward<Handler>(h));
        }
    }
    void cancel() {
        boost::system::error_code ec;
        if (socket) {
            socket->cancel(ec);
        } else if (foreign) {
            foreign->cancel(ec);
        }
    }
};

bool iequals_prefix(std::string_view line, std::string_view name) {
    if (line.size() < name.size() + 1 || line[name.size()] != ':') {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = line[i];
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
        if (c != name[i]) {
            return false;
        }
    }
    return true;
}

std::string_view header_value(std::string_view line, std::size_t name_len) {
    std::string_view v = line.substr(name_len + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
    }
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
        v.remove_suffix(1);
    }
    return v;
}

Error map_curl_error(CURLcode rc, const char* errbuf, bool headers_received) {
    // curl's own error buffer names hosts, addresses and ports (internal endpoints): clients
    // get the generic text for the code; the detail stays out of responses.
    (void)errbuf;
    std::string detail = curl_easy_strerror(rc);
    switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
            return Error{ErrorCode::UpstreamUnreachable,
                         fmt::format("could not connect to the upstream provider: {}", detail)};
        case CURLE_OPERATION_TIMEDOUT:
            return Error{
                ErrorCode::UpstreamTimeout,
                headers_received
                    ? fmt::format("upstream transfer timed out: {}", detail)
                    : fmt::format("connecting to the upstream provider timed out: {}", detail)};
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
            return Error{ErrorCode::UpstreamUnreachable,
                         fmt::format("TLS failure talking to the upstream provider: {}", detail)};
        default:
            break;
    }
    if (!headers_received) {
        return Error{ErrorCode::UpstreamUnreachable,
                     fmt::format("the upstream connection failed before a response: {}", detail)};
    }
    return Error{ErrorCode::UpstreamBadResponse,
                 fmt::format("the upstream response was cut off: {}", detail)};
}

}  // namespace

HeaderList::HeaderList(const std::vector<std::string>& lines) {
    curl_slist* list = nullptr;
    for (const std::string& h : lines) {
        list = curl_slist_append(list, h.c_str());
    }
    // No "Expect: 100-continue" round trip before the body.
    list_ = curl_slist_append(list, "Expect:");
}

HeaderList::~HeaderList() {
    curl_slist_free_all(static_cast<curl_slist*>(list_));
}

struct Transfer::Impl {
    UpstreamClient::State* client = nullptr;  // set while curl runs the transfer
    CURL* easy = nullptr;
    std::shared_ptr<const HeaderList> headers;
    std::string body;
    UpstreamTimeouts timeouts;
    std::size_t max_buffered = 0;
    std::size_t max_body = 0;
    bool relay = false;  // consumer takes data as it arrives: pause instead of failing when full
    bool paused = false;
    char errbuf[CURL_ERROR_SIZE] = {};
};

struct UpstreamClient::State {
    asio::io_context& io;
    CURLM* multi = nullptr;
    asio::steady_timer timer;      // curl's timer (CURLMOPT_TIMERFUNCTION)
    Clock::time_point timer_at{};  // when `timer` is armed for
    bool timer_armed = false;
    bool zero_posted = false;        // a "call me now" from curl is already posted
    asio::steady_timer sweep_timer;  // checks transfer deadlines every kSweepInterval
    bool sweeping = false;
    std::unordered_map<curl_socket_t, std::shared_ptr<Watched>> sockets;
    std::unordered_set<Transfer*> running;
    std::vector<CURL*> idle_handles;

    explicit State(asio::io_context& ctx) : io(ctx), timer(ctx), sweep_timer(ctx) {}

    // --- curl callbacks -------------------------------------------------------------------

    static curl_socket_t open_socket(void* clientp, curlsocktype purpose, curl_sockaddr* addr) {
        auto* self = static_cast<State*>(clientp);
        if (purpose != CURLSOCKTYPE_IPCXN || addr->socktype != SOCK_STREAM ||
            (addr->family != AF_INET && addr->family != AF_INET6)) {
            return ::socket(addr->family, addr->socktype, addr->protocol);
        }
        auto w = std::make_shared<Watched>();
        w->socket.emplace(self->io);
        boost::system::error_code ec;
        w->socket->open(addr->family == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), ec);
        if (ec) {
            return CURL_SOCKET_BAD;
        }
        curl_socket_t fd = w->socket->native_handle();
        self->sockets[fd] = std::move(w);
        return fd;
    }

    static int close_socket(void* clientp, curl_socket_t fd) {
        auto* self = static_cast<State*>(clientp);
        auto it = self->sockets.find(fd);
        if (it == self->sockets.end() || !it->second->socket) {
            return ::close(fd);
        }
        it->second->alive = false;
        boost::system::error_code ec;
        it->second->socket->close(ec);
        self->sockets.erase(it);
        return 0;
    }

    static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
        auto* self = static_cast<State*>(userp);
        auto it = self->sockets.find(fd);
        if (what == CURL_POLL_REMOVE) {
            if (it == self->sockets.end()) {
                return 0;
            }
            auto& w = it->second;
            w->want = 0;
            w->cancel();
            ++w->generation;
            w->read_pending = false;
            w->write_pending = false;
            if (w->foreign) {
                // Not ours to close: curl closes it.
                w->alive = false;
                w->foreign->release();
                self->sockets.erase(it);
            }
            return 0;
        }
        if (it == self->sockets.end()) {
            auto w = std::make_shared<Watched>();
            w->foreign.emplace(self->io);
            boost::system::error_code ec;
            w->foreign->assign(fd, ec);  // registers with epoll; no exception into curl
            if (ec) {
                return -1;
            }
            it = self->sockets.emplace(fd, std::move(w)).first;
        }
        it->second->want = what;
        self->arm(fd, it->second);
        return 0;
    }

    // Timers cost a timerfd_settime system call whenever the earliest one changes, so "now"
    // is a post and an unchanged expiry is not re-armed. An early or spurious timeout call is
    // harmless: curl only checks its deadlines and sets the next one.
    static int on_timer(CURLM*, long timeout_ms, void* userp) {
        auto* self = static_cast<State*>(userp);
        if (timeout_ms < 0) {
            if (self->timer_armed) {
                self->timer.cancel();
                self->timer_armed = false;
            }
            return 0;
        }
        if (timeout_ms == 0) {
            if (!self->zero_posted) {
                self->zero_posted = true;
                asio::post(self->io, [self] {
                    self->zero_posted = false;
                    self->action(CURL_SOCKET_TIMEOUT, 0);
                });
            }
            return 0;
        }
        auto at = Clock::now() + std::chrono::milliseconds(timeout_ms);
        if (self->timer_armed && at >= self->timer_at &&
            at - self->timer_at < std::chrono::milliseconds(2)) {
            return 0;
        }
        self->timer_at = at;
        self->timer_armed = true;
        self->timer.expires_at(at);
        self->timer.async_wait([self](boost::system::error_code ec) {
            if (!ec) {
                self->timer_armed = false;
                self->action(CURL_SOCKET_TIMEOUT, 0);
            }
        });
        return 0;
    }

    static size_t on_header(char* data, size_t size, size_t n, void* userp) {
        auto* t = static_cast<Transfer*>(userp);
        std::size_t len = size * n;
        std::string_view line(data, len);
        if (line.starts_with("HTTP/")) {
            auto sp = line.find(' ');
            int status = 0;
            if (sp != std::string_view::npos && sp + 3 < line.size()) {
                for (std::size_t i = sp + 1; i < sp + 4; ++i) {
                    if (line[i] < '0' || line[i] > '9') {
                        status = 0;
                        break;
                    }
                    status = status * 10 + (line[i] - '0');
                }
            }
            t->status_ = status;
            t->content_type_.clear();
            t->retry_after_.clear();
            t->error_type_.clear();
        } else if (line == "\r\n" || line == "\n") {
            if (t->status_ >= 200 && t->phase_ == Phase::Waiting) {
                t->phase_ = Phase::Headers;
                t->headers_at_ = Clock::now();
                t->last_activity_ = t->headers_at_;
                if (t->waker_) {
                    t->waker_();
                }
            }
        } else if (iequals_prefix(line, "content-type")) {
            t->content_type_ = header_value(line, 12);
        } else if (iequals_prefix(line, "retry-after")) {
            t->retry_after_ = header_value(line, 11);
        } else if (iequals_prefix(line, "x-amzn-errortype")) {
            // AWS rest-json services name the error type here, not always in the body.
            t->error_type_ = header_value(line, 16);
        }
        return len;
    }

    static size_t on_write(char* data, size_t size, size_t n, void* userp) {
        auto* t = static_cast<Transfer*>(userp);
        std::size_t len = size * n;
        Transfer::Impl& impl = *t->impl_;
        if (impl.relay) {
            if (t->data_.size() >= impl.max_buffered) {
                impl.paused = true;
                return CURL_WRITEFUNC_PAUSE;
            }
        } else if (t->data_.size() + len > impl.max_body) {
            t->error_ = Error{ErrorCode::UpstreamBadResponse,
                              fmt::format("the upstream response exceeds {} bytes", impl.max_body)};
            return 0;  // CURLE_WRITE_ERROR; completion reports error_
        }
        t->data_.append(data, len);
        t->bytes_received_ += len;
        t->last_activity_ = Clock::now();
        if (t->waker_) {
            t->waker_();
        }
        return len;
    }

    // --- driving curl ---------------------------------------------------------------------

    void arm(curl_socket_t fd, const std::shared_ptr<Watched>& w) {
        if ((w->want & CURL_POLL_IN) != 0 && !w->read_pending) {
            w->read_pending = true;
            w->async_wait(asio::socket_base::wait_read,
                          [this, fd, w, gen = w->generation](boost::system::error_code ec) {
                              if (gen != w->generation) {
                                  return;
                              }
                              w->read_pending = false;
                              if (ec || !w->alive || (w->want & CURL_POLL_IN) == 0) {
                                  return;
                              }
                              action(fd, CURL_CSELECT_IN);
                              if (w->alive) {
                                  arm(fd, w);
                              }
                          });
        }
        if ((w->want & CURL_POLL_OUT) != 0 && !w->write_pending) {
            w->write_pending = true;
            w->async_wait(asio::socket_base::wait_write,
                          [this, fd, w, gen = w->generation](boost::system::error_code ec) {
                              if (gen != w->generation) {
                                  return;
                              }
                              w->write_pending = false;
                              if (ec || !w->alive || (w->want & CURL_POLL_OUT) == 0) {
                                  return;
                              }
                              action(fd, CURL_CSELECT_OUT);
                              if (w->alive) {
                                  arm(fd, w);
                              }
                          });
        }
    }

    void action(curl_socket_t fd, int mask) {
        int still_running = 0;
        curl_multi_socket_action(multi, fd, mask, &still_running);
        collect_finished();
    }

    void collect_finished() {
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            CURL* easy = msg->easy_handle;
            CURLcode rc = msg->data.result;
            Transfer* t = nullptr;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
            if (t == nullptr) {
                continue;
            }
            bool headers = t->phase_ != Phase::Waiting;
            if (rc == CURLE_OK && headers) {
                finish(*t, Phase::Done, {});
            } else if (rc == CURLE_OK) {
                finish(*t, Phase::Failed,
                       Error{ErrorCode::UpstreamBadResponse,
                             "the upstream closed the connection without a valid HTTP response"});
            } else if (rc == CURLE_WRITE_ERROR && !t->error_.message.empty()) {
                finish(*t, Phase::Failed, t->error_);
            } else {
                finish(*t, Phase::Failed, map_curl_error(rc, t->impl_->errbuf, headers));
            }
        }
    }

    using Phase = Transfer::Phase;

    // Ends a transfer: detaches it from curl and tells the consumer.
    void finish(Transfer& t, Phase phase, Error error) {
        detach(t);
        t.phase_ = phase;
        if (phase == Phase::Failed) {
            t.error_ = std::move(error);
        }
        t.finished_at_ = Clock::now();
        if (t.waker_) {
            t.waker_();
        }
    }

    void detach(Transfer& t) {
        Transfer::Impl& impl = *t.impl_;
        if (impl.client == nullptr) {
            return;
        }
        impl.client = nullptr;
        running.erase(&t);
        curl_multi_remove_handle(multi, impl.easy);
        impl.headers.reset();
        // Handles are reused as they are: the options every transfer shares stay set, and
        // start() sets the per-transfer ones again.
        if (idle_handles.size() < 256) {
            idle_handles.push_back(impl.easy);
        } else {
            curl_easy_cleanup(impl.easy);
        }
        impl.easy = nullptr;
    }

    // First-byte, idle and total deadlines of every running transfer, checked by one periodic
    // sweep while transfers run (a deadline fires up to kSweepInterval late).
    static constexpr std::chrono::milliseconds kSweepInterval{50};

    void ensure_sweep() {
        if (sweeping) {
            return;
        }
        sweeping = true;
        sweep_timer.expires_after(kSweepInterval);
        sweep_timer.async_wait([this](boost::system::error_code ec) {
            sweeping = false;
            if (!ec) {
                sweep();
            }
        });
    }

    void sweep() {
        auto now = Clock::now();
        std::vector<Transfer*> expired;
        for (Transfer* t : running) {
            if (deadline_error(*t, now)) {
                expired.push_back(t);
            }
        }
        for (Transfer* t : expired) {
            Error e = *deadline_error(*t, now);
            finish(*t, Phase::Failed, std::move(e));
        }
        if (!running.empty()) {
            ensure_sweep();
        }
    }

    static std::optional<Error> deadline_error(const Transfer& t, Clock::time_point now) {
        const Transfer::Impl& impl = *t.impl_;
        if (now >= t.started_at_ + impl.timeouts.total) {
            return Error{ErrorCode::UpstreamTimeout,
                         fmt::format("the upstream did not complete within {} ms",
                                     impl.timeouts.total.count())};
        }
        if (t.phase_ == Phase::Waiting && now >= t.started_at_ + impl.timeouts.first_byte) {
            return Error{ErrorCode::UpstreamTimeout,
                         fmt::format("the upstream sent no response within {} ms",
                                     impl.timeouts.first_byte.count())};
        }
        if (t.phase_ == Phase::Headers && !impl.paused &&
            now >= t.last_activity_ + impl.timeouts.idle) {
            return Error{
                ErrorCode::UpstreamTimeout,
                fmt::format("the upstream sent nothing for {} ms", impl.timeouts.idle.count())};
        }
        return std::nullopt;
    }
};

void Transfer::take_data(std::string& out) {
    if (out.empty()) {
        out.swap(data_);
    } else {
        out.append(data_);
        data_.clear();
    }
    impl_->relay = true;
    if (impl_->paused && impl_->client != nullptr) {
        impl_->paused = false;
        last_activity_ = Clock::now();
        // May call the write callback synchronously with the data curl held back.
        curl_easy_pause(impl_->easy, CURLPAUSE_CONT);
    }
}

void Transfer::cancel() {
    if (impl_ && impl_->client != nullptr) {
        impl_->client->detach(*this);
        if (!finished()) {
            phase_ = Phase::Failed;
            error_ = Error{ErrorCode::Unavailable, "the upstream transfer was cancelled"};
            finished_at_ = Clock::now();
        }
    }
}

Transfer::~Transfer() {
    cancel();
}

UpstreamClient::UpstreamClient(asio::io_context& io) : state_(std::make_unique<State>(io)) {
    State* s = state_.get();
    s->multi = curl_multi_init();
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, &State::on_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, &State::on_timer);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, 1024L);
}

UpstreamClient::~UpstreamClient() {
    State* s = state_.get();
    while (!s->running.empty()) {
        (*s->running.begin())->cancel();
    }
    for (CURL* e : s->idle_handles) {
        curl_easy_cleanup(e);
    }
    curl_multi_cleanup(s->multi);  // closes pooled connections through close_socket
    s->timer.cancel();
    s->sweep_timer.cancel();
}

std::size_t UpstreamClient::active() const {
    return state_->running.size();
}

std::shared_ptr<Transfer> UpstreamClient::start(UpstreamRequest request) {
    State* s = state_.get();
    auto t = std::shared_ptr<Transfer>(new Transfer());
    t->impl_ = std::make_unique<Transfer::Impl>();
    Transfer::Impl& impl = *t->impl_;
    impl.body = std::move(request.body);
    impl.timeouts = request.timeouts;
    impl.max_buffered = request.max_buffered;
    impl.max_body = request.max_body;

    CURL* e = nullptr;
    if (!s->idle_handles.empty()) {
        e = s->idle_handles.back();
        s->idle_handles.pop_back();
    } else {
        e = curl_easy_init();
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        // A proxy's "200 Connection established" must not pass for the upstream's head.
        curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &State::on_header);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &State::on_write);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &State::open_socket);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, s);
        curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &State::close_socket);
        curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, s);
    }
    impl.easy = e;
    if (request.header_list) {
        impl.headers = std::move(request.header_list);
    } else {
        impl.headers = std::make_shared<const HeaderList>(request.headers);
    }

    curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, impl.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(impl.body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(impl.headers->native()));
    // Waiting to multiplex on a connection being set up only pays off where HTTP/2 is possible;
    // for plain http:// it would queue requests behind one HTTP/1.1 connection.
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, request.url.starts_with("https:") ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(impl.timeouts.connect.count()));
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, impl.errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());

    t->started_at_ = Clock::now();
    t->last_activity_ = t->started_at_;
    impl.client = s;
    s->running.insert(t.get());
    CURLMcode mc = curl_multi_add_handle(s->multi, e);
    if (mc != CURLM_OK) {
        s->finish(
            *t, Transfer::Phase::Failed,
            Error{ErrorCode::Internal, fmt::format("could not start the upstream transfer: {}",
                                                   curl_multi_strerror(mc))});
        return t;
    }
    s->ensure_sweep();
    return t;
}

}  // namespace sb::http
