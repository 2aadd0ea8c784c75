#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace sb::test {

using Clock = std::chrono::steady_clock;

RawConnection::RawConnection(std::uint16_t port, bool small_receive_buffer) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (small_receive_buffer) {
        int size = 4096;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd_);
        fd_ = -1;
        return;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

RawConnection::~RawConnection() { close(); }

void RawConnection::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool RawConnection::send(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        off += static_cast<std::size_t>(n);
    }
    return true;
}

bool RawConnection::fill(Clock::time_point deadline) {
    if (eof_ || fd_ < 0) {
        return false;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
        return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        return false;
    }
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
}

bool RawConnection::parse(HttpResponse& r) {
    // Re-parse from pos_ each time (responses in tests are small).
    std::string_view all(buf_);
    all.remove_prefix(pos_);
    auto head_end = all.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
        return false;
    }
    r = HttpResponse{};
    std::string_view head = all.substr(0, head_end);
    auto eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    auto sp = status_line.find(' ');
    if (sp != std::string_view::npos) {
        r.status = std::atoi(std::string(status_line.substr(sp + 1, 3)).c_str());
    }
    std::size_t p = eol == std::string_view::npos ? head.size() : eol + 2;
    while (p < head.size()) {
        auto e = head.find("\r\n", p);
        if (e == std::string_view::npos) {
            e = head.size();
        }
        std::string_view line = head.substr(p, e - p);
        auto colon = line.find(':');
        if (colon != std::string_view::npos) {
            std::string name(line.substr(0, colon));
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') {
                value.remove_prefix(1);
            }
            r.headers[name] = std::string(value);
        }
        p = e + 2;
    }
    std::string_view body = all.substr(head_end + 4);
    if (r.status == 100) {
        pos_ += head_end + 4;
        return parse(r);
    }
    if (r.header("transfer-encoding") == "chunked") {
        std::size_t q = 0;
        for (;;) {
            auto e = body.find("\r\n", q);
            if (e == std::string_view::npos) {
                return false;
            }
            std::size_t size = std::strtoul(std::string(body.substr(q, e - q)).c_str(), nullptr, 16);
            if (body.size() < e + 2 + size + 2) {
                r.body.append(body.substr(e + 2, std::min(size, body.size() - e - 2)));
                return false;
            }
            r.body.append(body.substr(e + 2, size));
            q = e + 2 + size + 2;
            if (size == 0) {
                r.complete = true;
                pos_ += head_end + 4 + q;
                return true;
            }
        }
    }
    std::size_t len = 0;
    if (auto cl = r.header("content-length"); !cl.empty()) {
        len = std::strtoul(cl.c_str(), nullptr, 10);
    } else if (r.status >= 200 && r.status != 204 && r.status != 304) {
        // Length by close.
        r.body = std::string(body);
        r.complete = eof_;
        return eof_;
    }
    if (body.size() < len) {
        r.body = std::string(body);
        return false;
    }
    r.body = std::string(body.substr(0, len));
    r.complete = true;
    pos_ += head_end + 4 + len;
    return true;
}

HttpResponse RawConnection::read_response(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    HttpResponse r;
    // A chunked body is only re-parsed once its last chunk may have arrived, so reading a large
    // stream stays linear.
    auto worth_parsing = [this] {
        std::string_view rest(buf_);
        rest.remove_prefix(pos_);
        auto head_end = rest.find("\r\n\r\n");
        if (head_end == std::string_view::npos) {
            return false;
        }
        std::string_view head = rest.substr(0, head_end);
        bool chunked = head.find("chunked") != std::string_view::npos ||
                       head.find("Chunked") != std::string_view::npos;
        return !chunked || eof_ || rest.ends_with("0\r\n\r\n");
    };
    while (!(worth_parsing() && parse(r))) {
        if (!fill(deadline)) {
            parse(r);
            break;
        }
    }
    r.peer_closed = eof_;
    return r;
}

HttpResponse RawConnection::read_partial(std::size_t min_body_bytes,
                                         std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    HttpResponse r;
    std::size_t saved = pos_;
    for (;;) {
        pos_ = saved;
        bool done = parse(r);
        if (done || (r.status != 0 && r.body.size() >= min_body_bytes)) {
            break;
        }
        if (!fill(deadline)) {
            break;
        }
    }
    r.peer_closed = eof_;
    return r;
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!eof_) {
        if (!fill(deadline) && !eof_) {
            return false;
        }
    }
    return true;
}

HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& path,
                          const std::string& body, const std::string& headers,
                          std::chrono::milliseconds timeout) {
    RawConnection c(port);
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers;
    if (!body.empty() || method == "POST") {
        req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n";
    }
    req += "\r\n" + body;
    c.send(req);
    return c.read_response(timeout);
}

}  // namespace sb::test
