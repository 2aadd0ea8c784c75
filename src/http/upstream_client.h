#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace sb::http {

using SteadyTime = std::chrono::steady_clock::time_point;

struct UpstreamTimeouts {
    std::chrono::milliseconds connect{10'000};
    std::chrono::milliseconds first_byte{120'000};
    std::chrono::milliseconds idle{60'000};
    std::chrono::milliseconds total{600'000};
};

// A prepared, immutable list of request headers (a curl_slist) shared by every transfer to the
// same target on one worker, so a request does not rebuild it. Worker thread only.
class HeaderList {
  public:
    explicit HeaderList(const std::vector<std::string>& lines);
    ~HeaderList();
    HeaderList(const HeaderList&) = delete;
    HeaderList& operator=(const HeaderList&) = delete;
    void* native() const { return list_; }

  private:
    void* list_ = nullptr;
};

// One upstream HTTP exchange to start: POST `body` to `url` with `headers` ("Name: value"),
// or with the prepared `header_list` when one is given.
struct UpstreamRequest {
    std::string url;
    std::vector<std::string> headers;
    std::shared_ptr<const HeaderList> header_list;
    std::string body;
    UpstreamTimeouts timeouts;
    std::size_t max_buffered = 256 * 1024;  // pause the upstream read above this (backpressure)
    std::size_t max_body = 64u << 20;       // a non-stream body larger than this fails
};

// State of one upstream exchange, owned by the request's coroutine (shared with the client
// while curl runs it). Everything happens on the worker thread that started it: curl callbacks
// update the state and call the waker; the consumer polls the state after each wake-up.
class Transfer {
  public:
    enum class Phase : std::uint8_t { Waiting, Headers, Done, Failed };

    Phase phase() const { return phase_; }
    bool headers_received() const { return phase_ != Phase::Waiting || status_ != 0; }
    int status() const { return status_; }
    const std::string& content_type() const { return content_type_; }
    const std::string& retry_after() const { return retry_after_; }
    // The `x-amzn-ErrorType` response header (AWS services name the error type there), or "".
    const std::string& error_type() const { return error_type_; }
    const Error& error() const { return error_; }
    bool finished() const { return phase_ == Phase::Done || phase_ == Phase::Failed; }

    // Body bytes received and not yet taken.
    std::size_t buffered() const { return data_.size(); }
    // Moves the buffered body bytes out (appending to `out`) and resumes a paused read.
    void take_data(std::string& out);

    SteadyTime started_at() const { return started_at_; }
    SteadyTime headers_at() const { return headers_at_; }
    SteadyTime finished_at() const { return finished_at_; }
    std::uint64_t bytes_received() const { return bytes_received_; }

    // Called (on the worker thread) after every state change.
    void set_waker(std::function<void()> waker) { waker_ = std::move(waker); }

    // Aborts the exchange now (client went away, drain deadline); the upstream connection is
    // closed. Idempotent; no waker call results.
    void cancel();

    ~Transfer();

  private:
    friend class UpstreamClient;
    struct Impl;
    Transfer() = default;

    Phase phase_ = Phase::Waiting;
    int status_ = 0;
    std::string content_type_;
    std::string retry_after_;
    std::string error_type_;
    Error error_;
    std::string data_;
    std::uint64_t bytes_received_ = 0;
    SteadyTime started_at_{};
    SteadyTime headers_at_{};
    SteadyTime finished_at_{};
    SteadyTime last_activity_{};
    std::function<void()> waker_;
    std::unique_ptr<Impl> impl_;
};

// Per-worker upstream HTTP client: one libcurl multi handle driven by the worker's io_context
// (multi-socket API), so connections, TLS sessions and HTTP/2 streams are reused across
// requests. Only the worker thread may call it. HTTPS_PROXY / NO_PROXY are honoured by libcurl.
class UpstreamClient {
  public:
    explicit UpstreamClient(boost::asio::io_context& io);
    ~UpstreamClient();
    UpstreamClient(const UpstreamClient&) = delete;
    UpstreamClient& operator=(const UpstreamClient&) = delete;

    std::shared_ptr<Transfer> start(UpstreamRequest request);

    // Transfers currently running.
    std::size_t active() const;

    struct State;

  private:
    std::unique_ptr<State> state_;
};

// libcurl's process-wide initialisation; call once from main before any thread starts.
void global_init();

}  // namespace sb::http
