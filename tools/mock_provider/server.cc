// Socket layer of the mock provider: listeners, HTTP/1.1 framing, delays and faults. The
// OpenAI and Anthropic protocols themselves are in protocol.cc.

#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "mock_provider/internal.h"
#include "mock_provider/mock_provider.h"
#include "mock_provider/protocol.h"

namespace sb::mock {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using detail::Outcome;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kInitialBuffer = 16 * 1024;
constexpr std::size_t kShrinkAbove = 1024 * 1024;  // give memory back after a big request
constexpr std::size_t kFlushBytes = 64 * 1024;     // stream bytes batched into one write
constexpr std::size_t kMaxChunkLine = 4096;        // chunk-size line incl. extensions
constexpr auto kLingerTime = std::chrono::seconds(2);

bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (const char c : s) {
        if (!is_token_char(c)) {
            return false;
        }
    }
    return true;
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// Calls f(token) for each comma-separated token of a header value.
template <typename F>
void for_each_token(std::string_view value, F&& f) {
    while (!value.empty()) {
        const std::size_t comma = std::min(value.find(','), value.size());
        f(trim(value.substr(0, comma)));
        value.remove_prefix(std::min(comma + 1, value.size()));
    }
}

// One client connection, served by one coroutine on its worker thread. Shared with the
// peer-close watcher's completion handler, which may outlive the coroutine by one callback.
class Connection : public std::enable_shared_from_this<Connection> {
  public:
    Connection(tcp::socket socket, std::string_view api_key)
        : socket_(std::move(socket)), timer_(socket_.get_executor()), handler_(api_key) {
        buffer_.resize(kInitialBuffer + detail::kJsonPadding);
    }

    asio::awaitable<void> run();

  private:
    enum class ReadResult : std::uint8_t { Ok, Closed, FramingError };
    enum class ChunkState : std::uint8_t { Size, Data, DataEnd, Trailer, Done };
    struct HeaderPosition {
        std::uint32_t name;
        std::uint32_t name_size;
        std::uint32_t value;
        std::uint32_t value_size;
    };

    asio::awaitable<ReadResult> read_request();
    asio::awaitable<bool> read_more();
    int parse_head(std::size_t head_end);
    // Decodes chunked body bytes in [chunk_pos_, end_) into body_; returns an HTTP status on
    // error, 0 otherwise.
    int decode_chunks();
    void build_request(std::string_view body);

    asio::awaitable<bool> execute();
    asio::awaitable<bool> execute_stream();
    asio::awaitable<bool> write(std::string_view first, std::string_view second = {});
    asio::awaitable<bool> delay(int ms);
    asio::awaitable<void> wait_for_peer_close();
    asio::awaitable<void> linger_close();
    void finish(Outcome outcome) const;
    void start_watch();
    void stop_watch();
    void cut();

    tcp::socket socket_;
    asio::steady_timer timer_;
    detail::Handler handler_;
    detail::Request request_;
    detail::Response response_;

    // Input: bytes [begin_, end_) of buffer_ are unconsumed; buffer_ always keeps
    // kJsonPadding bytes past its usable part so a body can be parsed in place.
    std::vector<char> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::size_t next_ = 0;  // where the request after the current one starts
    int error_status_ = 0;

    // Head of the current request, as offsets into buffer_ (which may move while reading).
    std::size_t head_begin_ = 0;  // first header line
    std::size_t head_end_ = 0;    // after the empty line
    std::size_t method_size_ = 0;
    std::size_t target_begin_ = 0;
    std::size_t target_size_ = 0;
    std::array<HeaderPosition, detail::kMaxHeaders> positions_{};
    std::array<detail::Header, detail::kMaxHeaders> headers_{};
    std::size_t header_count_ = 0;
    std::size_t content_length_ = 0;
    bool chunked_ = false;
    bool keep_alive_ = true;
    bool http10_ = false;
    bool expect_continue_ = false;

    // Chunked request bodies are decoded into body_ (size body_size_ + kJsonPadding).
    std::vector<char> body_;
    std::size_t body_size_ = 0;
    ChunkState chunk_state_ = ChunkState::Size;
    std::size_t chunk_pos_ = 0;
    std::size_t chunk_remaining_ = 0;

    std::string out_;  // stream bytes waiting to be written

    // Peer-close watcher: a wait_read on the socket while the response is delayed.
    bool watching_ = false;
    bool peer_closed_ = false;
    std::uint64_t watch_generation_ = 0;
};

asio::awaitable<void> Connection::run() {
    for (;;) {
        const ReadResult result = co_await read_request();
        if (result == ReadResult::Closed) {
            break;
        }
        if (result == ReadResult::FramingError) {
            handler_.framing_error(error_status_, response_);
            if (co_await write(response_.head, response_.body)) {
                co_await linger_close();
            }
            break;
        }
        handler_.handle(request_, response_);
        const bool keep_open = co_await execute();
        stop_watch();
        if (!keep_open) {
            break;
        }
        begin_ = next_;
    }
    cut();
}

asio::awaitable<bool> Connection::read_more() {
    std::size_t usable = buffer_.size() - detail::kJsonPadding;
    if (usable == end_) {
        buffer_.resize(buffer_.size() * 2);
        usable = buffer_.size() - detail::kJsonPadding;
    }
    auto [ec, n] = co_await socket_.async_read_some(
        asio::buffer(buffer_.data() + end_, usable - end_), kNoThrow);
    if (ec) {
        co_return false;
    }
    end_ += n;
    co_return true;
}

asio::awaitable<Connection::ReadResult> Connection::read_request() {
    // Keep only the unconsumed bytes (a pipelined request), at the front.
    if (begin_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (buffer_.size() > kShrinkAbove && end_ <= kInitialBuffer) {
        buffer_.resize(kInitialBuffer + detail::kJsonPadding);
        buffer_.shrink_to_fit();
    }

    std::size_t scan = 0;
    std::size_t head_end = 0;
    for (;;) {
        // RFC 9112 section 2.2: ignore empty lines before the request line.
        while (begin_ < end_ && (buffer_[begin_] == '\r' || buffer_[begin_] == '\n')) {
            ++begin_;
        }
        scan = std::max(scan, begin_);
        if (end_ - scan >= 4) {
            const void* found = ::memmem(buffer_.data() + scan, end_ - scan, "\r\n\r\n", 4);
            if (found != nullptr) {
                head_end =
                    static_cast<std::size_t>(static_cast<const char*>(found) - buffer_.data()) + 4;
                break;
            }
            scan = end_ - 3;
        }
        if (end_ - begin_ > detail::kMaxHeadBytes) {
            error_status_ = 431;
            co_return ReadResult::FramingError;
        }
        if (!co_await read_more()) {
            co_return ReadResult::Closed;
        }
    }
    if (head_end - begin_ > detail::kMaxHeadBytes) {
        error_status_ = 431;
        co_return ReadResult::FramingError;
    }
    error_status_ = parse_head(head_end);
    if (error_status_ != 0) {
        co_return ReadResult::FramingError;
    }

    if (chunked_) {
        body_size_ = 0;
        chunk_state_ = ChunkState::Size;
        chunk_pos_ = head_end;
        chunk_remaining_ = 0;
        bool continued = false;
        for (;;) {
            error_status_ = decode_chunks();
            if (error_status_ != 0) {
                co_return ReadResult::FramingError;
            }
            if (chunk_state_ == ChunkState::Done) {
                break;
            }
            if (end_ - begin_ > 2 * detail::kMaxBodyBytes) {
                error_status_ = 413;
                co_return ReadResult::FramingError;
            }
            if (expect_continue_ && !continued) {
                continued = true;
                if (!co_await write("HTTP/1.1 100 Continue\r\n\r\n")) {
                    co_return ReadResult::Closed;
                }
            }
            if (!co_await read_more()) {
                co_return ReadResult::Closed;
            }
        }
        next_ = chunk_pos_;
        if (body_.size() < body_size_ + detail::kJsonPadding) {
            body_.resize(body_size_ + detail::kJsonPadding);
        }
        build_request(std::string_view(body_.data(), body_size_));
        co_return ReadResult::Ok;
    }

    if (content_length_ > detail::kMaxBodyBytes) {
        error_status_ = 413;
        co_return ReadResult::FramingError;
    }
    const std::size_t need = head_end + content_length_;
    if (end_ < need) {
        if (buffer_.size() < need + detail::kJsonPadding) {
            buffer_.resize(need + detail::kJsonPadding);
        }
        if (expect_continue_ && !co_await write("HTTP/1.1 100 Continue\r\n\r\n")) {
            co_return ReadResult::Closed;
        }
        while (end_ < need) {
            if (!co_await read_more()) {
                co_return ReadResult::Closed;
            }
        }
    }
    next_ = need;
    build_request(std::string_view(buffer_.data() + head_end, content_length_));
    co_return ReadResult::Ok;
}

int Connection::parse_head(std::size_t head_end) {
    const char* base = buffer_.data();
    const std::string_view head(base + begin_, head_end - begin_);

    // Request line: method SP request-target SP HTTP-version.
    const std::size_t line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const std::size_t space1 = line.find(' ');
    if (space1 == std::string_view::npos) {
        return 400;
    }
    const std::size_t space2 = line.find(' ', space1 + 1);
    if (space2 == std::string_view::npos) {
        return 400;
    }
    const std::string_view method = line.substr(0, space1);
    const std::string_view target = line.substr(space1 + 1, space2 - space1 - 1);
    const std::string_view version = line.substr(space2 + 1);
    if (!is_token(method) || target.empty() || target.front() != '/') {
        return 400;
    }
    for (const char c : target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return 400;
        }
    }
    bool http10 = false;
    if (version == "HTTP/1.0") {
        http10 = true;
    } else if (version != "HTTP/1.1") {
        return 400;
    }
    method_size_ = method.size();
    target_begin_ = begin_ + space1 + 1;
    target_size_ = target.size();

    // Header fields.
    head_begin_ = begin_ + line_end + 2;
    head_end_ = head_end;
    header_count_ = 0;
    content_length_ = 0;
    chunked_ = false;
    expect_continue_ = false;
    keep_alive_ = !http10;
    http10_ = http10;
    bool has_length = false;
    bool has_transfer_encoding = false;
    std::size_t pos = head_begin_;
    while (pos + 2 < head_end) {
        const std::string_view rest(base + pos, head_end - 2 - pos);
        const std::size_t eol = std::min(rest.find("\r\n"), rest.size());
        const std::string_view field = rest.substr(0, eol);
        const std::size_t colon = field.find(':');
        if (colon == std::string_view::npos || !is_token(field.substr(0, colon))) {
            return 400;  // also rejects obs-fold (a line starting with whitespace)
        }
        const std::string_view name = field.substr(0, colon);
        const std::string_view value = trim(field.substr(colon + 1));
        for (const char c : value) {
            if (c == '\r' || c == '\n' || c == '\0') {
                return 400;
            }
        }
        if (header_count_ == detail::kMaxHeaders) {
            return 431;
        }
        positions_[header_count_++] = HeaderPosition{
            static_cast<std::uint32_t>(name.data() - base),
            static_cast<std::uint32_t>(name.size()),
            static_cast<std::uint32_t>(value.data() - base),
            static_cast<std::uint32_t>(value.size()),
        };
        if (iequals(name, "content-length")) {
            std::size_t length = 0;
            if (value.empty() || value.size() > 18) {
                return value.size() > 18 ? 413 : 400;
            }
            for (const char c : value) {
                if (c < '0' || c > '9') {
                    return 400;
                }
                length = length * 10 + static_cast<std::size_t>(c - '0');
            }
            if (has_length && length != content_length_) {
                return 400;
            }
            has_length = true;
            content_length_ = length;
        } else if (iequals(name, "transfer-encoding")) {
            has_transfer_encoding = true;
            chunked_ = false;
            for_each_token(value, [&](std::string_view coding) {
                chunked_ = iequals(coding, "chunked");  // must be the final coding
            });
            if (!chunked_) {
                return 400;
            }
        } else if (iequals(name, "connection")) {
            for_each_token(value, [&](std::string_view option) {
                if (iequals(option, "close")) {
                    keep_alive_ = false;
                } else if (iequals(option, "keep-alive") && http10) {
                    keep_alive_ = true;
                }
            });
        } else if (iequals(name, "expect")) {
            expect_continue_ = iequals(value, "100-continue");
        }
        pos += eol + 2;
    }
    // RFC 9112 section 6.3: both framings at once is a smuggling attempt.
    if (has_length && has_transfer_encoding) {
        return 400;
    }
    return 0;
}

int Connection::decode_chunks() {
    const char* base = buffer_.data();
    while (chunk_state_ != ChunkState::Done) {
        switch (chunk_state_) {
            case ChunkState::Size:
            case ChunkState::Trailer: {
                const std::string_view rest(base + chunk_pos_, end_ - chunk_pos_);
                const std::size_t eol = rest.find("\r\n");
                if (eol == std::string_view::npos) {
                    return rest.size() > kMaxChunkLine ? 400 : 0;
                }
                const std::string_view line = rest.substr(0, eol);
                chunk_pos_ += eol + 2;
                if (chunk_state_ == ChunkState::Trailer) {
                    if (line.empty()) {
                        chunk_state_ = ChunkState::Done;
                    }
                    break;
                }
                std::size_t size = 0;
                std::size_t digits = 0;
                for (const char c : line) {
                    int v = 0;
                    if (c >= '0' && c <= '9') {
                        v = c - '0';
                    } else if (c >= 'a' && c <= 'f') {
                        v = c - 'a' + 10;
                    } else if (c >= 'A' && c <= 'F') {
                        v = c - 'A' + 10;
                    } else {
                        break;  // chunk extensions (";name=value") and whitespace are ignored
                    }
                    size = size * 16 + static_cast<std::size_t>(v);
                    if (++digits > 12) {
                        return 413;
                    }
                }
                if (digits == 0) {
                    return 400;
                }
                if (body_size_ + size > detail::kMaxBodyBytes) {
                    return 413;
                }
                chunk_remaining_ = size;
                chunk_state_ = size == 0 ? ChunkState::Trailer : ChunkState::Data;
                break;
            }
            case ChunkState::Data: {
                const std::size_t take = std::min(chunk_remaining_, end_ - chunk_pos_);
                if (take == 0) {
                    return 0;
                }
                if (body_.size() < body_size_ + take + detail::kJsonPadding) {
                    body_.resize(body_size_ + take + detail::kJsonPadding);
                }
                std::memcpy(body_.data() + body_size_, base + chunk_pos_, take);
                body_size_ += take;
                chunk_pos_ += take;
                chunk_remaining_ -= take;
                if (chunk_remaining_ == 0) {
                    chunk_state_ = ChunkState::DataEnd;
                }
                break;
            }
            case ChunkState::DataEnd:
                if (end_ - chunk_pos_ < 2) {
                    return 0;
                }
                if (base[chunk_pos_] != '\r' || base[chunk_pos_ + 1] != '\n') {
                    return 400;
                }
                chunk_pos_ += 2;
                chunk_state_ = ChunkState::Size;
                break;
            case ChunkState::Done:
                break;
        }
    }
    return 0;
}

void Connection::build_request(std::string_view body) {
    const char* base = buffer_.data();
    for (std::size_t i = 0; i < header_count_; ++i) {
        const HeaderPosition& p = positions_[i];
        headers_[i] = detail::Header{std::string_view(base + p.name, p.name_size),
                                     std::string_view(base + p.value, p.value_size)};
    }
    request_.method = std::string_view(base + target_begin_ - method_size_ - 1, method_size_);
    const std::string_view target(base + target_begin_, target_size_);
    const std::size_t question = target.find('?');
    request_.path = target.substr(0, question);
    request_.query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    request_.head = std::string_view(base + head_begin_, head_end_ - 2 - head_begin_);
    request_.headers = std::span<const detail::Header>(headers_.data(), header_count_);
    request_.body = body;
    request_.keep_alive = keep_alive_;
    request_.http10 = http10_;
}

void Connection::finish(Outcome outcome) const {
    if (response_.counted) {
        detail::count_outcome(outcome);
    }
}

asio::awaitable<bool> Connection::execute() {
    detail::Response& response = response_;
    if (response.wait.active) {
        // Long-poll of /_mock/stats: the counters move on other threads, so poll them.
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(response.wait.timeout_ms);
        bool timed_out = false;
        while (!detail::stats_wait_satisfied(response.wait)) {
            if (std::chrono::steady_clock::now() >= deadline) {
                timed_out = true;
                break;
            }
            timer_.expires_after(std::chrono::milliseconds(1));
            co_await timer_.async_wait(kNoThrow);
        }
        handler_.finish_stats(request_, response, timed_out);
    }
    if (response.latency_ms > 0 && !co_await delay(response.latency_ms)) {
        finish(Outcome::Cancelled);
        co_return false;
    }
    if (response.stream) {
        co_return co_await execute_stream();
    }
    if (response.stall_after >= 0) {
        // Never answer; hold the connection until the peer gives up.
        co_await wait_for_peer_close();
        finish(Outcome::Cancelled);
        co_return false;
    }
    if (response.disconnect_after == 0) {
        finish(Outcome::Disconnected);
        co_return false;
    }
    if (response.disconnect_after > 0) {
        // A truncated answer: the head and half the body, then the connection drops.
        co_await write(response.head,
                       std::string_view(response.body).substr(0, response.body.size() / 2));
        finish(Outcome::Disconnected);
        co_return false;
    }
    if (!co_await write(response.head, response.body)) {
        finish(Outcome::Cancelled);
        co_return false;
    }
    finish(Outcome::Completed);
    co_return !response.close;
}

asio::awaitable<bool> Connection::execute_stream() {
    detail::Response& response = response_;
    detail::StreamRenderer& renderer = response.renderer;
    const std::size_t count = renderer.event_count();
    const std::size_t content_begin = renderer.content_begin();
    const std::size_t content_count = renderer.content_count();

    // Events written before a fault cuts the stream short: the lead chunk and K content chunks
    // (K past the content: all of it, but no finish chunk).
    std::size_t stop_at = count;
    bool stall = false;
    if (response.disconnect_after >= 0) {
        stop_at = content_begin +
                  std::min(static_cast<std::size_t>(response.disconnect_after), content_count);
    }
    if (response.stall_after >= 0) {
        const std::size_t at =
            content_begin + std::min(static_cast<std::size_t>(response.stall_after), content_count);
        if (at <= stop_at) {
            stop_at = at;
            stall = true;
        }
    }

    const bool paced = response.chunk_delay_ms > 0;
    out_.clear();
    out_ += response.head;
    for (std::size_t i = 0; i < stop_at; ++i) {
        renderer.append_event(i, out_);
        if (paced || out_.size() >= kFlushBytes) {
            if (!co_await write(out_)) {
                finish(Outcome::Cancelled);
                co_return false;
            }
            out_.clear();
        }
        if (paced && i + 1 < stop_at && !co_await delay(response.chunk_delay_ms)) {
            finish(Outcome::Cancelled);
            co_return false;
        }
    }
    if (stop_at == count) {
        out_ += "0\r\n\r\n";
        if (!co_await write(out_)) {
            finish(Outcome::Cancelled);
            co_return false;
        }
        finish(Outcome::Completed);
        co_return !response.close;
    }
    if (!out_.empty() && !co_await write(out_)) {
        finish(Outcome::Cancelled);
        co_return false;
    }
    if (stall) {
        co_await wait_for_peer_close();
        finish(Outcome::Cancelled);
    } else {
        finish(Outcome::Disconnected);
    }
    co_return false;
}

asio::awaitable<bool> Connection::write(std::string_view first, std::string_view second) {
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(first), asio::buffer(second)};
    auto [ec, n] = co_await asio::async_write(socket_, buffers, kNoThrow);
    (void)n;
    co_return !ec;
}

asio::awaitable<bool> Connection::delay(int ms) {
    start_watch();
    if (peer_closed_) {
        co_return false;
    }
    timer_.expires_after(std::chrono::milliseconds(ms));
    co_await timer_.async_wait(kNoThrow);
    co_return !peer_closed_;
}

asio::awaitable<void> Connection::wait_for_peer_close() {
    stop_watch();
    std::array<char, 2048> scratch;
    for (;;) {
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(scratch), kNoThrow);
        (void)n;
        if (ec) {
            break;
        }
    }
}

asio::awaitable<void> Connection::linger_close() {
    // Close after an error without losing the answer to a reset: stop sending, drain what the
    // peer still sends for a while, then close.
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    timer_.expires_after(kLingerTime);
    timer_.async_wait([self = shared_from_this()](const error_code& wait_error) {
        if (!wait_error) {
            error_code ignored;
            self->socket_.close(ignored);
        }
    });
    std::array<char, 4096> scratch;
    for (;;) {
        auto [read_error, n] = co_await socket_.async_read_some(asio::buffer(scratch), kNoThrow);
        (void)n;
        if (read_error) {
            break;
        }
    }
    timer_.cancel();
}

void Connection::start_watch() {
    if (watching_ || peer_closed_) {
        return;
    }
    watching_ = true;
    const std::uint64_t generation = ++watch_generation_;
    socket_.async_wait(
        tcp::socket::wait_read, [self = shared_from_this(), generation](const error_code& ec) {
            if (generation != self->watch_generation_) {
                return;  // stopped, and maybe restarted, since
            }
            self->watching_ = false;
            if (ec == asio::error::operation_aborted) {
                return;
            }
            if (!ec) {
                char byte = 0;
                const ssize_t n =
                    ::recv(self->socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
                if (n > 0) {
                    return;  // the peer sent data (a pipelined request), so it is still there
                }
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                    self->start_watch();  // spurious wake-up
                    return;
                }
            }
            // EOF or an error (reset): the peer is gone.
            self->peer_closed_ = true;
            self->timer_.cancel();
        });
}

void Connection::stop_watch() {
    if (!watching_) {
        return;
    }
    watching_ = false;
    ++watch_generation_;
    error_code ec;
    socket_.cancel(ec);
}

void Connection::cut() {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
}

void log_failure(std::exception_ptr failure) {
    if (!failure) {
        return;
    }
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mock-provider: connection failed: %s\n", e.what());
    }
}

asio::awaitable<void> serve(std::shared_ptr<Connection> connection) {
    co_await connection->run();
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor, std::string_view api_key) {
    asio::steady_timer backoff(acceptor.get_executor());
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            // Out of descriptors or similar: back off instead of spinning.
            backoff.expires_after(std::chrono::milliseconds(10));
            co_await backoff.async_wait(kNoThrow);
            continue;
        }
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        asio::co_spawn(acceptor.get_executor(),
                       serve(std::make_shared<Connection>(std::move(socket), api_key)),
                       log_failure);
    }
}

}  // namespace

struct Server::Impl {
    Options options;
    std::string address;
    std::vector<std::unique_ptr<asio::io_context>> contexts;  // one per worker
    std::vector<std::thread> threads;
    bool started = false;
};

Server::Server(Options options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
}

Server::~Server() {
    stop();
}

const std::string& Server::address() const {
    return impl_->address;
}

Result<std::uint16_t> Server::start() {
    Impl& impl = *impl_;
    if (impl.started) {
        return fail(ErrorCode::Internal, "mock provider already started");
    }
    impl.started = true;
    if (!impl.options.google_public_key.empty()) {
        std::string why;
        if (!detail::configure_google_auth(impl.options.google_public_key,
                                           impl.options.google_token_ttl, why)) {
            return fail(ErrorCode::Internal, why);
        }
    }
    error_code ec;
    std::string host = impl.options.host;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host == "localhost") {
        host = "127.0.0.1";
    }
    const asio::ip::address address = asio::ip::make_address(host, ec);
    if (ec) {
        return fail(ErrorCode::InvalidRequest, "bad listen address '" + impl.options.host + "'");
    }
    const int threads = std::max(1, impl.options.threads);
    std::uint16_t port = impl.options.port;
    for (int i = 0; i < threads; ++i) {
        auto context = std::make_unique<asio::io_context>(1);
        tcp::acceptor acceptor(*context);
        const tcp::endpoint endpoint(address, port);
        const auto failed = [&](std::string_view what) {
            return fail(ErrorCode::Internal, std::string(what) + " " + address.to_string() + ":" +
                                                 std::to_string(port) + ": " + ec.message());
        };
        acceptor.open(endpoint.protocol(), ec);
        if (ec) {
            return failed("cannot open a socket for");
        }
        acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (ec) {
            return failed("cannot set SO_REUSEADDR on");
        }
        if (threads > 1) {
            using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
            acceptor.set_option(ReusePort(true), ec);
            if (ec) {
                return failed("cannot set SO_REUSEPORT on");
            }
        }
        acceptor.bind(endpoint, ec);
        if (ec) {
            return failed("cannot bind");
        }
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            return failed("cannot listen on");
        }
        if (i == 0) {
            port = acceptor.local_endpoint(ec).port();
        }
        asio::co_spawn(*context, accept_loop(std::move(acceptor), impl.options.api_key),
                       log_failure);
        impl.contexts.push_back(std::move(context));
    }
    impl.address = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    impl.address += ":" + std::to_string(port);
    for (auto& context : impl.contexts) {
        impl.threads.emplace_back([io = context.get()] { io->run(); });
    }
    return port;
}

void Server::stop() {
    Impl& impl = *impl_;
    for (auto& context : impl.contexts) {
        context->stop();
    }
    for (std::thread& thread : impl.threads) {
        if (thread.joinable()) {
            thread.join();
        }
    }
    impl.threads.clear();
    impl.contexts.clear();  // destroys the pending coroutines, closing every connection
}

}  // namespace sb::mock
