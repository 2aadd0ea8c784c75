#include "server/prober.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <random>

#include "api/openai_request.h"
#include "core/error.h"
#include "providers/openai.h"
#include "server/adapters.h"

namespace sb::server {

using routing::Clock;
using routing::Failure;

namespace {

constexpr std::size_t kResults = static_cast<std::size_t>(Failure::Client) + 1;
// Enough of an error body to classify it; the rest of any answer is discarded unread.
constexpr std::size_t kMaxErrorBody = 64 * 1024;
// Longest the thread sleeps without looking at its stop flag (it is also woken on stop).
constexpr std::chrono::milliseconds kMaxWait{1'000};

std::string_view result_name(Failure f) {
    return f == Failure::None ? std::string_view("ok") : routing::to_string(f);
}

std::string escape_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

// Whether a header line ("Name: value") or a response header line starts with `lower_name`
// (lower case, with the colon), ignoring case.
bool has_name(std::string_view line, std::string_view lower_name) {
    if (line.size() < lower_name.size()) {
        return false;
    }
    for (std::size_t i = 0; i < lower_name.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(line[i])) != lower_name[i]) {
            return false;
        }
    }
    return true;
}

bool is_openai_format(config::ProviderType t) {
    return t == config::ProviderType::OpenAI || t == config::ProviderType::OpenAICompatible ||
           t == config::ProviderType::Azure;
}

std::string chat_probe_body(const config::Target& target, const config::Probe& probe) {
    std::string body = R"({"model":")";
    append_json_escaped(body, target.upstream_model);
    body += fmt::format(R"(","messages":[{{"role":"user","content":"ping"}}],"max_tokens":{}}})",
                        probe.max_tokens);
    return body;
}

std::chrono::milliseconds jittered(std::chrono::milliseconds interval, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> u(0.9, 1.1);
    return std::chrono::milliseconds(std::max<std::int64_t>(
        1, static_cast<std::int64_t>(static_cast<double>(interval.count()) * u(rng))));
}

}  // namespace

Result<ProbeRequest> build_probe(const config::Provider& provider, const config::Target& target,
                                 const config::Probe& probe, const providers::Adapter* adapter) {
    ProbeRequest out;
    if (adapter == nullptr && is_openai_format(provider.type)) {
        http::UpstreamRequest req = providers::openai::build_request(
            provider, api::Endpoint::ChatCompletions, target.upstream_model);
        out.headers = std::move(req.headers);
        if (provider.type != config::ProviderType::Azure) {
            // OpenAI's "List models": authenticated, free, and served by every compatible API.
            out.url = provider.base_url + "/models";
            std::erase_if(out.headers,
                          [](const std::string& h) { return has_name(h, "content-type:"); });
            return out;
        }
        // Azure: a deployment answers only its own data-plane calls, so probe the deployment.
        if (target.upstream_model.empty()) {
            return fail(ErrorCode::Internal,
                        "a target without an upstream model cannot be probed on Azure");
        }
        out.post = true;
        out.url = std::move(req.url);
        out.body = chat_probe_body(target, probe);
        return out;
    }
    if (adapter == nullptr) {
        return fail(ErrorCode::Internal, fmt::format("no adapter for provider type {}",
                                                     config::to_string(provider.type)));
    }
    if (target.upstream_model.empty()) {
        return fail(ErrorCode::Internal,
                    "a target without an upstream model cannot be probed with a chat completion");
    }
    providers::ChatContext ctx;
    ctx.public_model = target.upstream_model;
    ctx.upstream_model = target.upstream_model;
    ctx.response_id = "chatcmpl-probe";
    auto req = adapter->build_chat(provider, chat_probe_body(target, probe), ctx);
    if (!req) {
        return fail(std::move(req).error());
    }
    out.post = true;
    out.url = std::move(req->url);
    out.headers = std::move(req->headers);
    out.body = std::move(req->body);
    return out;
}

// One probed target and its probe in flight (if any). Touched only by the probe thread, except
// the counters, which the scraping thread reads.
struct Prober::Slot {
    const config::Target* target = nullptr;
    const config::Provider* provider = nullptr;
    config::Probe probe;
    std::unique_ptr<providers::Adapter> adapter;  // nullptr: OpenAI format
    std::array<std::atomic<std::uint64_t>, kResults> counts{};

    CURL* easy = nullptr;  // non-null while a probe is in flight
    curl_slist* headers = nullptr;
    ProbeRequest request;  // kept alive while curl reads the body
    std::string error_body;
    std::string retry_after;
    Clock::time_point started;
    Clock::time_point next;
    Failure last = Failure::None;
    bool reported_build_error = false;
};

namespace {

std::size_t write_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* slot = static_cast<Prober::Slot*>(user);
    const std::size_t len = size * n;
    if (slot->error_body.size() < kMaxErrorBody) {
        slot->error_body.append(data, std::min(len, kMaxErrorBody - slot->error_body.size()));
    }
    return len;
}

std::size_t write_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* slot = static_cast<Prober::Slot*>(user);
    const std::size_t len = size * n;
    std::string_view line(data, len);
    constexpr std::string_view kName = "retry-after:";
    if (has_name(line, kName)) {
        std::string_view v = line.substr(kName.size());
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
            v.remove_prefix(1);
        }
        while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
            v.remove_suffix(1);
        }
        slot->retry_after.assign(v);
    }
    return len;
}

void end_transfer(CURLM* multi, Prober::Slot& slot) {
    curl_multi_remove_handle(multi, slot.easy);
    curl_easy_cleanup(slot.easy);
    slot.easy = nullptr;
    curl_slist_free_all(slot.headers);
    slot.headers = nullptr;
    slot.request = {};
}

}  // namespace

bool Prober::wanted(const config::Snapshot& snapshot) {
    for (const config::Model& m : snapshot.config().models) {
        for (const config::Target& t : m.targets) {
            if (t.probe && snapshot.provider_of(t).enabled) {
                return true;
            }
        }
    }
    return false;
}

std::unique_ptr<Prober> Prober::start(std::shared_ptr<const config::Snapshot> snapshot,
                                      routing::Router& router, telemetry::Registry& registry) {
    if (!wanted(*snapshot)) {
        return nullptr;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    auto p = std::make_unique<Prober>(std::move(snapshot), router, registry);
    p->collector_id_ =
        registry.add_collector([raw = p.get()](std::string& out) { raw->render(out); });
    p->thread_ = std::thread([raw = p.get()] { raw->run(); });
    return p;
}

Prober::Prober(std::shared_ptr<const config::Snapshot> snapshot, routing::Router& router,
               telemetry::Registry& registry)
    : snapshot_(std::move(snapshot)), router_(router), registry_(registry) {
    for (const config::Model& m : snapshot_->config().models) {
        for (const config::Target& t : m.targets) {
            const config::Provider& provider = snapshot_->provider_of(t);
            if (!t.probe || !provider.enabled) {
                continue;
            }
            auto slot = std::make_unique<Slot>();
            slot->target = &t;
            slot->provider = &provider;
            slot->probe = *t.probe;
            slot->adapter = make_adapter(provider);
            slots_.push_back(std::move(slot));
        }
    }
    multi_ = curl_multi_init();
}

Prober::~Prober() {
    stop_.store(true, std::memory_order_relaxed);
    if (multi_ != nullptr) {
        curl_multi_wakeup(static_cast<CURLM*>(multi_));
    }
    if (thread_.joinable()) {
        thread_.join();
    }
    if (collector_id_ != 0) {
        registry_.remove_collector(collector_id_);
    }
    for (auto& slot : slots_) {
        if (slot->easy != nullptr) {
            end_transfer(static_cast<CURLM*>(multi_), *slot);
        }
    }
    if (multi_ != nullptr) {
        curl_multi_cleanup(static_cast<CURLM*>(multi_));
    }
}

std::uint64_t Prober::probes(const config::Target& target, std::string_view result) const {
    std::uint64_t n = 0;
    for (const auto& slot : slots_) {
        if (slot->target != &target) {
            continue;
        }
        for (std::size_t i = 0; i < kResults; ++i) {
            if (result_name(static_cast<Failure>(i)) == result) {
                n += slot->counts[i].load(std::memory_order_relaxed);
            }
        }
    }
    return n;
}

void Prober::render(std::string& out) const {
    out += "# HELP switchboard_probes_total Active health probes of routing targets by result.\n";
    out += "# TYPE switchboard_probes_total counter\n";
    for (const auto& slot : slots_) {
        for (std::size_t i = 0; i < kResults; ++i) {
            const std::uint64_t n = slot->counts[i].load(std::memory_order_relaxed);
            const Failure f = static_cast<Failure>(i);
            if (n == 0 && f != Failure::None) {
                continue;
            }
            out += fmt::format(
                "switchboard_probes_total{{provider=\"{}\",target=\"{}\",result=\"{}\"}} {}\n",
                escape_label(slot->provider->name), escape_label(slot->target->name),
                result_name(f), n);
        }
    }
}

void Prober::run() {
    auto* multi = static_cast<CURLM*>(multi_);
    std::mt19937_64 rng(std::random_device{}());
    const Clock::time_point begin = Clock::now();
    for (auto& slot : slots_) {
        // Spread the first probes over one interval so they do not all go out at once.
        std::uniform_int_distribution<std::int64_t> first(0, slot->probe.interval.count());
        slot->next = begin + std::chrono::milliseconds(first(rng));
    }

    auto launch = [&](Slot& slot, Clock::time_point now) {
        slot.started = now;
        slot.next = now + jittered(slot.probe.interval, rng);
        auto built = build_probe(*slot.provider, *slot.target, slot.probe, slot.adapter.get());
        if (!built) {
            if (!slot.reported_build_error) {
                slot.reported_build_error = true;
                spdlog::warn("probe of target {} (provider {}) cannot be sent: {}",
                             slot.target->name, slot.provider->name, built.error().message);
            }
            return;
        }
        slot.request = std::move(*built);
        slot.error_body.clear();
        slot.retry_after.clear();
        CURL* easy = curl_easy_init();
        if (easy == nullptr) {
            return;
        }
        for (const std::string& h : slot.request.headers) {
            slot.headers = curl_slist_append(slot.headers, h.c_str());
        }
        if (slot.request.post &&
            std::none_of(slot.request.headers.begin(), slot.request.headers.end(),
                         [](const std::string& h) { return has_name(h, "content-type:"); })) {
            slot.headers = curl_slist_append(slot.headers, "Content-Type: application/json");
        }
        const long timeout_ms = static_cast<long>(slot.probe.timeout.count());
        const long connect_ms =
            static_cast<long>(std::min(slot.probe.timeout, slot.target->timeouts.connect).count());
        curl_easy_setopt(easy, CURLOPT_URL, slot.request.url.c_str());
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, slot.headers);
        if (slot.request.post) {
            curl_easy_setopt(easy, CURLOPT_POSTFIELDS, slot.request.body.data());
            curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(slot.request.body.size()));
        } else {
            curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        }
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &write_body);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, &slot);
        curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &write_header);
        curl_easy_setopt(easy, CURLOPT_HEADERDATA, &slot);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, &slot);
        slot.easy = easy;
        curl_multi_add_handle(multi, easy);
    };

    auto complete = [&](Slot& slot, CURLcode code) {
        routing::Outcome outcome;
        long status = 0;
        curl_easy_getinfo(slot.easy, CURLINFO_RESPONSE_CODE, &status);
        if (code != CURLE_OK) {
            outcome.failure =
                code == CURLE_OPERATION_TIMEDOUT ? Failure::Timeout : Failure::Connect;
        } else if (status >= 200 && status < 300) {
            outcome.failure = Failure::None;
        } else {
            const int st = static_cast<int>(status);
            const Error e =
                slot.adapter
                    ? slot.adapter->map_error(*slot.provider, st, slot.error_body, slot.retry_after)
                    : providers::openai::map_error(*slot.provider, st, slot.error_body,
                                                   slot.retry_after);
            outcome.failure = routing::classify(e);
            if (!slot.retry_after.empty()) {
                outcome.retry_after =
                    routing::parse_retry_after(slot.retry_after, std::chrono::system_clock::now());
            }
        }
        end_transfer(multi, slot);
        const Clock::time_point now = Clock::now();
        router_.probe_result(*slot.target, outcome, now);
        slot.counts[static_cast<std::size_t>(outcome.failure)].fetch_add(1,
                                                                         std::memory_order_relaxed);
        if (outcome.failure != slot.last) {
            // Only changes are logged: a dead target is not a line per interval. Never the URL,
            // headers or body (they may hold credentials).
            if (outcome.failure == Failure::None) {
                spdlog::info("probe of target {} (provider {}) succeeds again", slot.target->name,
                             slot.provider->name);
            } else {
                spdlog::warn("probe of target {} (provider {}) failed: {} (HTTP {}{})",
                             slot.target->name, slot.provider->name, result_name(outcome.failure),
                             status,
                             code != CURLE_OK ? fmt::format(", {}", curl_easy_strerror(code))
                                              : std::string());
            }
            slot.last = outcome.failure;
        }
    };

    while (!stop_.load(std::memory_order_relaxed)) {
        Clock::time_point now = Clock::now();
        for (auto& slot : slots_) {
            if (slot->easy == nullptr && slot->next <= now) {
                launch(*slot, now);
            }
        }
        int running = 0;
        curl_multi_perform(multi, &running);
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            void* priv = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            const CURLcode code = msg->data.result;
            complete(*static_cast<Slot*>(priv), code);
        }
        // Sleep until the next probe is due (or curl has something to do, or stop wakes us).
        now = Clock::now();
        auto wait = kMaxWait;
        for (const auto& slot : slots_) {
            if (slot->easy == nullptr) {
                wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(
                                          std::max(slot->next - now, Clock::duration::zero())));
            }
        }
        curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
    }
}

}  // namespace sb::server
