#pragma once

// A minimal OTLP/HTTP collector for tests: an HTTP/1.1 server on 127.0.0.1 (port 0) that
// records every request (path, headers, body) and answers with a status the test chooses.
// Keep-alive connections are served one at a time on one thread. Header-only so that unit and
// integration tests share it. wait_for() blocks on a condition variable (no polling).

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sb::test {

class OtlpReceiver {
  public:
    struct Request {
        std::string method;
        std::string path;
        std::map<std::string, std::string> headers;  // names lower-cased
        std::string body;
        int answered = 0;  // the status this receiver answered with
    };

    OtlpReceiver() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd_, 16) != 0) {
            ::close(fd_);
            fd_ = -1;
            return;
        }
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }

    ~OtlpReceiver() {
        stopping_ = true;
        if (fd_ >= 0) {
            ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
        }
        {
            std::lock_guard lock(mu_);
            if (client_ >= 0) {
                ::shutdown(client_, SHUT_RDWR);  // wakes recv()
            }
        }
        if (thread_.joinable()) {
            thread_.join();
        }
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }

    OtlpReceiver(const OtlpReceiver&) = delete;
    OtlpReceiver& operator=(const OtlpReceiver&) = delete;

    bool ok() const { return port_ != 0; }
    std::uint16_t port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    // Statuses for the next requests, in order; after them, 200.
    void answer_next(std::vector<int> statuses) {
        std::lock_guard lock(mu_);
        statuses_ = std::move(statuses);
    }

    std::vector<Request> requests() const {
        std::lock_guard lock(mu_);
        return requests_;
    }

    // Waits until `done(requests)` holds or the timeout passes; returns whether it held.
    bool wait_for(const std::function<bool(const std::vector<Request>&)>& done,
                  std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, timeout, [&] { return done(requests_); });
    }

  private:
    void serve() {
        while (!stopping_) {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) {
                if (stopping_) {
                    return;
                }
                continue;
            }
            {
                std::lock_guard lock(mu_);
                client_ = c;
            }
            serve_connection(c);
            {
                std::lock_guard lock(mu_);
                client_ = -1;
            }
            ::close(c);
        }
    }

    void serve_connection(int c) {
        std::string buf;
        for (;;) {
            std::size_t head_end;
            while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
                if (!read_more(c, buf)) {
                    return;
                }
            }
            Request r;
            std::string head = buf.substr(0, head_end);
            buf.erase(0, head_end + 4);
            std::size_t line_end = head.find("\r\n");
            std::string request_line = head.substr(0, line_end);
            auto sp1 = request_line.find(' ');
            auto sp2 = request_line.find(' ', sp1 + 1);
            r.method = request_line.substr(0, sp1);
            r.path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
            std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
            while (pos < head.size()) {
                std::size_t e = head.find("\r\n", pos);
                if (e == std::string::npos) {
                    e = head.size();
                }
                std::string line = head.substr(pos, e - pos);
                pos = e + 2;
                auto colon = line.find(':');
                if (colon == std::string::npos) {
                    continue;
                }
                std::string name = line.substr(0, colon);
                for (auto& ch : name) {
                    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                }
                std::string value = line.substr(colon + 1);
                while (!value.empty() && value.front() == ' ') {
                    value.erase(0, 1);
                }
                r.headers[name] = value;
            }
            std::size_t length = 0;
            if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
                length = std::stoul(it->second);
            }
            while (buf.size() < length) {
                if (!read_more(c, buf)) {
                    return;
                }
            }
            r.body = buf.substr(0, length);
            buf.erase(0, length);
            int status = 200;
            {
                std::lock_guard lock(mu_);
                if (!statuses_.empty()) {
                    status = statuses_.front();
                    statuses_.erase(statuses_.begin());
                }
            }
            r.answered = status;
            std::string response = "HTTP/1.1 " + std::to_string(status) +
                                   (status == 200 ? " OK" : " Error") +
                                   "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n";
            if (status == 429 || status == 503) {
                response += "Retry-After: 0\r\n";
            }
            response += "\r\n{}";
            ::send(c, response.data(), response.size(), MSG_NOSIGNAL);
            {
                std::lock_guard lock(mu_);
                requests_.push_back(std::move(r));
            }
            cv_.notify_all();
        }
    }

    static bool read_more(int c, std::string& buf) {
        char chunk[16384];
        ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
        if (n <= 0) {
            return false;
        }
        buf.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    int client_ = -1;
    std::vector<int> statuses_;
    std::vector<Request> requests_;
};

}  // namespace sb::test
