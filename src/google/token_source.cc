#include "google/token_source.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>

namespace sb::google {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t unix_now() {
    // The JWT's iat/exp are wall-clock times, checked by Google against its own clock.
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

size_t append_body(char* data, size_t size, size_t n, void* userp) {
    auto* body = static_cast<std::string*>(userp);
    constexpr std::size_t kMaxBody = 1u << 20;
    if (body->size() + size * n > kMaxBody) {
        return 0;  // a token answer is small; anything this big is not one
    }
    body->append(data, size * n);
    return size * n;
}

int check_abort(void* userp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<const std::atomic<bool>*>(userp)->load() ? 1 : 0;
}

}  // namespace

ServiceAccountTokenSource::ServiceAccountTokenSource(ServiceAccountKey key, Options options)
    : key_(std::move(key)), options_(std::move(options)) {
    state_.store(std::make_shared<const State>());
    thread_ = std::thread([this] { run(); });
}

ServiceAccountTokenSource::~ServiceAccountTokenSource() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    abort_.store(true);
    changed_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

Result<std::string> ServiceAccountTokenSource::access_token() const {
    const std::shared_ptr<const State> state = state_.load();
    if (!state->token.empty() && Clock::now() < state->expires_at) {
        return state->token;
    }
    if (!state->attempted) {
        return fail(ErrorCode::Unavailable,
                    fmt::format("The gateway has no OAuth access token for provider '{}' yet; "
                                "the first token exchange has not finished.",
                                options_.provider_name));
    }
    if (state->failed) {
        return tl::unexpected(state->last_error);
    }
    return fail(ErrorCode::Unavailable,
                fmt::format("The OAuth access token for provider '{}' has expired and is being "
                            "refreshed.",
                            options_.provider_name));
}

bool ServiceAccountTokenSource::wait_for_attempts(std::uint64_t count,
                                                  std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return attempts_ >= count; });
}

std::uint64_t ServiceAccountTokenSource::attempts() const {
    const std::lock_guard lock(mutex_);
    return attempts_;
}

std::uint64_t ServiceAccountTokenSource::successes() const {
    const std::lock_guard lock(mutex_);
    return successes_;
}

Result<AccessToken> ServiceAccountTokenSource::exchange() {
    auto assertion = make_assertion(key_, options_.scope, unix_now());
    if (!assertion) {
        return tl::unexpected(assertion.error());
    }
    const std::string form = token_request_body(*assertion);
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) {
        return fail(ErrorCode::Internal, "curl_easy_init failed");
    }
    std::string body;
    curl_slist* headers =
        curl_slist_append(nullptr, "Content-Type: application/x-www-form-urlencoded");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                            curl_slist_free_all);
    CURL* h = curl.get();
    curl_easy_setopt(h, CURLOPT_URL, key_.token_uri.c_str());
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.http_timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, check_abort);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &abort_);
    const CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        Error e(rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::UpstreamTimeout
                                               : ErrorCode::UpstreamUnreachable,
                fmt::format("The OAuth token endpoint of provider '{}' could not be reached: {}",
                            options_.provider_name, curl_easy_strerror(rc)));
        return tl::unexpected(std::move(e));
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return parse_token_response(static_cast<int>(status), body, options_.provider_name);
}

void ServiceAccountTokenSource::run() {
    std::chrono::milliseconds backoff = options_.min_backoff;
    for (;;) {
        const auto started = Clock::now();
        Result<AccessToken> got = exchange();
        Clock::time_point next;
        auto state = std::make_shared<State>(*state_.load());
        state->attempted = true;
        if (got) {
            state->token = std::move(got->token);
            state->expires_at = started + got->expires_in;
            state->failed = false;
            // Refresh `refresh_margin` early, but no later than halfway through the token's
            // life (short-lived tokens).
            const auto margin =
                std::min<Clock::duration>(options_.refresh_margin, got->expires_in / 2);
            next = state->expires_at - margin;
            backoff = options_.min_backoff;
        } else {
            state->failed = true;
            state->last_error = got.error();
            next = Clock::now() + backoff;
            backoff = std::min(backoff * 2, options_.max_backoff);
        }
        state_.store(std::move(state));
        std::unique_lock lock(mutex_);
        ++attempts_;
        if (got) {
            ++successes_;
        }
        changed_.notify_all();
        if (changed_.wait_until(lock, next, [&] { return stopping_; })) {
            return;
        }
    }
}

}  // namespace sb::google
