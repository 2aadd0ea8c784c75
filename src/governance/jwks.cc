#include "governance/jwks.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>

#include "governance/jwt.h"

namespace sb::governance {
namespace {

constexpr std::size_t kMaxJwksBytes = 1u << 20;

struct Body {
    std::string data;
    bool too_big = false;
};

std::size_t on_data(char* ptr, std::size_t size, std::size_t n, void* user) {
    auto* body = static_cast<Body*>(user);
    const std::size_t len = size * n;
    if (body->data.size() + len > kMaxJwksBytes) {
        body->too_big = true;
        return 0;  // aborts the transfer
    }
    body->data.append(ptr, len);
    return len;
}

}  // namespace

Result<std::string> http_get(const std::string& url) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) {
        return fail(ErrorCode::Internal, "curl_easy_init failed");
    }
    Body body;
    CURL* h = curl.get();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    const CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        return fail(ErrorCode::UpstreamUnreachable,
                    body.too_big ? std::string("JWKS larger than 1 MiB")
                                 : fmt::format("JWKS fetch failed: {}", curl_easy_strerror(rc)));
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        return fail(ErrorCode::UpstreamBadResponse,
                    fmt::format("JWKS fetch answered HTTP {}", status));
    }
    return std::move(body.data);
}

JwksFetcher::JwksFetcher(std::shared_ptr<JwtVerifier> verifier,
                         std::function<std::int64_t()> now_ms)
    : verifier_(std::move(verifier)), now_ms_(std::move(now_ms)) {}

JwksFetcher::~JwksFetcher() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

int JwksFetcher::fetch_all() {
    int failed = 0;
    for (const auto& issuer : verifier_->issuers()) {
        if (issuer.is_static) {
            continue;
        }
        auto body = http_get(issuer.config.jwks_url);
        if (!body) {
            ++failed;
            continue;
        }
        auto keys = parse_jwks(*body, issuer.config.algorithm);
        if (!keys || keys->empty()) {
            ++failed;  // keep the last good set
            continue;
        }
        issuer.keys->set(std::move(*keys), now_ms_());
    }
    return failed;
}

void JwksFetcher::start(std::function<void()> after_round) {
    after_round_ = std::move(after_round);
    const bool any = std::any_of(verifier_->issuers().begin(), verifier_->issuers().end(),
                                 [](const auto& i) { return !i.is_static; });
    if (any) {
        thread_ = std::thread([this] { loop(); });
    }
}

void JwksFetcher::request_refresh() {
    {
        std::lock_guard lock(mu_);
        const auto now = std::chrono::steady_clock::now();
        if (refresh_requested_ || now - last_early_ < std::chrono::seconds(10)) {
            return;
        }
        last_early_ = now;
        refresh_requested_ = true;
    }
    cv_.notify_all();
}

void JwksFetcher::loop() {
    auto interval = std::chrono::milliseconds::max();
    for (const auto& issuer : verifier_->issuers()) {
        if (!issuer.is_static) {
            interval = std::min(interval, issuer.config.jwks_refresh);
        }
    }
    std::unique_lock lock(mu_);
    while (!stop_) {
        cv_.wait_for(lock, interval, [this] { return stop_ || refresh_requested_; });
        if (stop_) {
            break;
        }
        refresh_requested_ = false;
        lock.unlock();
        fetch_all();
        if (after_round_) {
            after_round_();
        }
        lock.lock();
    }
}

}  // namespace sb::governance
