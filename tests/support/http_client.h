#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace sb::test {

struct HttpResponse {
    int status = 0;                              // 0: no complete response head
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;                            // de-chunked
    bool complete = false;                       // body fully received (length or last chunk)
    bool peer_closed = false;                    // the server closed the connection

    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

// A blocking HTTP/1.1 client over one TCP connection to 127.0.0.1, for tests that need exact
// control of the bytes (malformed heads, slow senders, early disconnects). Every wait is
// bounded by a timeout.
class RawConnection {
public:
    // `small_receive_buffer`: a 4 KiB receive buffer, set before connecting (so the TCP window
    // is negotiated for it), so that a client which does not read backs up quickly.
    explicit RawConnection(std::uint16_t port, bool small_receive_buffer = false);
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    bool connected() const { return fd_ >= 0; }
    bool send(const std::string& bytes);
    // Reads one response (head + body).
    HttpResponse read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // Reads until the response head has arrived and at least `min_body_bytes` of (de-chunked)
    // body; returns what it has.
    HttpResponse read_partial(std::size_t min_body_bytes, std::chrono::milliseconds timeout);
    // True if the peer closes the connection within `timeout`.
    bool wait_closed(std::chrono::milliseconds timeout);
    void close();

private:
    bool fill(std::chrono::steady_clock::time_point deadline);
    // Parses as much of buf_ as possible into `r`; returns true when complete.
    bool parse(HttpResponse& r);

    int fd_ = -1;
    std::string buf_;
    std::size_t pos_ = 0;  // parse position in buf_
    bool eof_ = false;
};

// One request on a fresh connection; `headers` is raw "Name: value\r\n" lines.
HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& path,
                          const std::string& body = {}, const std::string& headers = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace sb::test
