#include "governance/governance.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>

#include "core/glob.h"
#include "governance/jwks.h"
#include "governance/jwt.h"
#include "governance/store.h"

namespace sb::governance {
namespace {

constexpr std::string_view kBearer = "bearer ";

bool istarts_with(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
        if (c != prefix[i]) {
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

bool is_b64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

// `sk-sb-` + 43 base64url characters (256 bits).
bool is_key_shape(std::string_view s) {
    if (s.size() != kKeyPrefix.size() + 43 || s.substr(0, kKeyPrefix.size()) != kKeyPrefix) {
        return false;
    }
    const std::string_view body = s.substr(kKeyPrefix.size());
    return std::all_of(body.begin(), body.end(), is_b64url_char);
}

tl::unexpected<Error> unauthorized(std::string msg) {
    return fail(ErrorCode::Unauthorized, std::move(msg));
}

std::string format_reset(std::int64_t ms) {
    if (ms < 1000) {
        return fmt::format("{}ms", std::max<std::int64_t>(ms, 0));
    }
    const std::int64_t s = (ms + 999) / 1000;
    if (s < 60) {
        return fmt::format("{}s", s);
    }
    if (s < 3600) {
        return fmt::format("{}m{}s", s / 60, s % 60);
    }
    return fmt::format("{}h{}m{}s", s / 3600, (s / 60) % 60, s % 60);
}

const config::RateLimits* find_model_limits(
    const std::vector<std::pair<std::string, config::RateLimits>>& table, std::string_view model) {
    for (const auto& [pattern, limits] : table) {
        if (glob_match(pattern, model)) {
            return &limits;
        }
    }
    return nullptr;
}

std::string_view unit_text(Unit u) {
    return u == Unit::Requests ? "requests" : u == Unit::Tokens ? "tokens" : "spend";
}

}  // namespace

std::uint64_t estimate_prompt_tokens(std::size_t body_bytes) {
    return (body_bytes + 3) / 4 + 16;
}

std::vector<std::pair<std::string, std::string>> rate_limit_headers(const RateLimitInfo& info) {
    std::vector<std::pair<std::string, std::string>> out;
    if (info.has_requests) {
        out.emplace_back("x-ratelimit-limit-requests", std::to_string(info.limit_requests));
        out.emplace_back("x-ratelimit-remaining-requests", std::to_string(info.remaining_requests));
        out.emplace_back("x-ratelimit-reset-requests", format_reset(info.reset_requests_ms));
    }
    if (info.has_tokens) {
        out.emplace_back("x-ratelimit-limit-tokens", std::to_string(info.limit_tokens));
        out.emplace_back("x-ratelimit-remaining-tokens", std::to_string(info.remaining_tokens));
        out.emplace_back("x-ratelimit-reset-tokens", format_reset(info.reset_tokens_ms));
    }
    return out;
}

// -- Admission ----------------------------------------------------------------------------------

Admission::Admission(Admission&& other) noexcept
    : table_(std::move(other.table_)),
      charges_(std::move(other.charges_)),
      info_(other.info_),
      reserved_tokens_(other.reserved_tokens_),
      reserved_cost_(other.reserved_cost_),
      active_(std::exchange(other.active_, false)) {}

Admission& Admission::operator=(Admission&& other) noexcept {
    if (this != &other) {
        release();
        table_ = std::move(other.table_);
        charges_ = std::move(other.charges_);
        info_ = other.info_;
        reserved_tokens_ = other.reserved_tokens_;
        reserved_cost_ = other.reserved_cost_;
        active_ = std::exchange(other.active_, false);
    }
    return *this;
}

Admission::~Admission() {
    release();
}

void Admission::release() {
    if (!active_) {
        return;
    }
    active_ = false;
    for (Charge& ch : charges_) {
        if (ch.counter->unit != Unit::Requests) {
            adjust(ch, 0);
        }
    }
}

void Admission::settle(const Usage& usage, double total_cost) {
    if (!active_) {
        return;
    }
    active_ = false;
    const auto tokens = static_cast<std::int64_t>(usage.total());
    const Nanos money = to_nanos(total_cost);
    for (Charge& ch : charges_) {
        if (ch.counter->unit == Unit::Tokens) {
            adjust(ch, tokens);
        } else if (ch.counter->unit == Unit::Money) {
            adjust(ch, money);
        }
    }
}

// -- Governance ---------------------------------------------------------------------------------

Governance::Governance(Private, const config::Config& config, Options options)
    : auth_(config.auth), options_(std::move(options)) {
    if (!options_.now_ms) {
        options_.now_ms = [] {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                .count();
        };
    }
    counters_ = options_.counters ? options_.counters : std::make_shared<CounterTable>();
    for (const auto& t : auth_.teams) {
        teams_.emplace(t.name, &t);
    }
    for (const auto& u : auth_.users) {
        users_.emplace(u.name, &u);
    }
    for (const auto& r : auth_.roles) {
        roles_.emplace(r.name, &r);
    }
    keys_.store(std::make_shared<const KeyTable>());
}

Result<std::shared_ptr<Governance>> Governance::create(const config::Config& config,
                                                       Options options) {
    const bool threads = options.start_threads;
    auto g = std::make_shared<Governance>(Private{}, config, std::move(options));
    const config::Auth& auth = g->auth_;
    if (!auth.enabled) {
        return g;
    }
    if (!auth.sqlite_path.empty()) {
        SB_TRY(store, SqliteStore::open(auth.sqlite_path));
        // Spend rows of windows that ended long ago are of no use (the longest window is a month).
        constexpr std::int64_t kKeepSpendMs = 62LL * 24 * 3600 * 1000;
        if (auto s = store->prune_spend(g->now_ms() - kKeepSpendMs); !s) {
            return fail(std::move(s).error());
        }
        SB_TRY(spend, store->load_spend());
        g->counters_->preload(std::move(spend));
        g->store_ = std::move(store);
    }
    if (auth.key_store == config::KeyStoreType::Yaml) {
        if (auto s = g->set_keys(auth.keys); !s) {
            return fail(std::move(s).error());
        }
    } else if (auto s = g->sync_store_now(); !s) {
        return fail(std::move(s).error());
    }
    SB_TRY(verifier, JwtVerifier::create(auth.jwt_issuers));
    g->jwt_ = std::move(verifier);
    g->jwks_ = std::make_unique<JwksFetcher>(g->jwt_, g->options_.now_ms);
    // The first fetch happens here, at startup; a failure leaves that issuer's tokens at 503
    // until a later refresh succeeds.
    if (g->options_.fetch_jwks) {
        g->jwks_->fetch_all();
    }
    if (threads) {
        g->jwks_->start(g->options_.on_jwks_refreshed);
        if (g->store_) {
            g->store_thread_ = std::thread([raw = g.get()] { raw->store_loop(); });
        }
    }
    return g;
}

Governance::~Governance() {
    {
        std::lock_guard lock(wake_mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (store_thread_.joinable()) {
        store_thread_.join();
    }
    jwks_.reset();
    if (store_) {
        (void)sync_store_now();  // last spend written
    }
}

Status Governance::set_keys(const std::vector<config::ApiKeyEntry>& keys) {
    auto table = std::make_shared<KeyTable>();
    for (const config::ApiKeyEntry& k : keys) {
        auto rec = std::make_shared<KeyRecord>();
        rec->entry = k;
        if (!from_hex(k.hash, rec->digest)) {
            // Never echo the hash: it would allow offline guessing.
            return fail(ErrorCode::Internal,
                        fmt::format("key {}: stored hash is not 64 hex digits", k.id));
        }
        std::string digest(reinterpret_cast<const char*>(rec->digest.data()), rec->digest.size());
        table->by_digest.emplace(std::move(digest), std::move(rec));
    }
    keys_.store(std::move(table));
    return {};
}

Status Governance::sync_store_now() {
    std::lock_guard lock(store_mu_);
    if (!store_) {
        return {};
    }
    auto dirty = counters_->take_dirty();
    if (auto s = store_->save_spend(dirty); !s) {
        counters_->mark_dirty(dirty);  // written on a later round
        return s;
    }
    if (auth_.key_store != config::KeyStoreType::Sqlite) {
        return {};
    }
    SB_TRY(version, store_->data_version());
    if (version == store_version_) {
        return {};
    }
    SB_TRY(keys, store_->load_keys());
    if (auto s = set_keys(keys); !s) {
        return s;
    }
    store_version_ = version;
    return {};
}

void Governance::store_loop() {
    const auto interval = std::min(auth_.spend_flush, auth_.key_refresh);
    std::unique_lock lock(wake_mu_);
    while (!stopping_) {
        wake_.wait_for(lock, interval, [this] { return stopping_; });
        if (stopping_) {
            break;
        }
        lock.unlock();
        (void)sync_store_now();  // a failure is retried on the next round; spend stays dirty
        if (options_.on_store_synced) {
            options_.on_store_synced();
        }
        lock.lock();
    }
}

int Governance::refresh_jwks_now() {
    return jwks_ ? jwks_->fetch_all() : 0;
}

namespace {

template <typename T>
const T* find_named(const std::unordered_map<std::string, const T*>& index, std::string_view name) {
    if (name.empty()) {
        return nullptr;
    }
    const auto it = index.find(std::string(name));
    return it == index.end() ? nullptr : it->second;
}

}  // namespace

const config::Team* Governance::team(std::string_view name) const {
    return find_named(teams_, name);
}

const config::User* Governance::user(std::string_view name) const {
    return find_named(users_, name);
}

const config::Role* Governance::role(std::string_view name) const {
    return find_named(roles_, name);
}

void Governance::fill_identity(Principal& p) const {
    if (const config::User* u = user(p.user)) {
        if (p.team.empty()) {
            p.team = u->team;
        }
        for (const std::string& r : u->roles) {
            if (std::find(p.roles.begin(), p.roles.end(), r) == p.roles.end()) {
                p.roles.push_back(r);
            }
        }
    }
    for (const std::string& r : p.roles) {
        if (const config::Role* role_cfg = role(r); role_cfg != nullptr && role_cfg->admin) {
            p.admin = true;
        }
    }
}

Result<Principal> Governance::authenticate(std::string_view authorization_header,
                                           std::string_view x_api_key) const {
    if (!auth_.enabled) {
        Principal p;
        p.id = "anonymous";
        return p;
    }
    std::string_view credential;
    if (!authorization_header.empty()) {
        const std::string_view h = trim(authorization_header);
        if (!istarts_with(h, kBearer)) {
            return unauthorized("The Authorization header must be \"Bearer <API key or token>\".");
        }
        credential = trim(h.substr(kBearer.size()));
    } else {
        credential = trim(x_api_key);
    }
    if (credential.empty()) {
        if (!auth_.required && authorization_header.empty() && x_api_key.empty()) {
            Principal p;
            p.id = "anonymous";
            return p;
        }
        return unauthorized(
            "You didn't provide an API key. Send it as \"Authorization: Bearer <key>\".");
    }
    if (credential.substr(0, kKeyPrefix.size()) == kKeyPrefix) {
        return authenticate_key(credential);
    }
    if (!auth_.jwt_issuers.empty() && std::count(credential.begin(), credential.end(), '.') == 2) {
        return authenticate_jwt(credential);
    }
    return unauthorized("Incorrect API key provided.");
}

Result<Principal> Governance::authenticate_key(std::string_view key) const {
    if (!is_key_shape(key)) {
        return unauthorized("Incorrect API key provided (malformed).");
    }
    const Digest digest = sha256(key);
    const auto table = keys_.load();
    const auto it = table->by_digest.find(
        std::string(reinterpret_cast<const char*>(digest.data()), digest.size()));
    // The map finds the candidate by its hash; the final comparison is constant-time anyway.
    if (it == table->by_digest.end() ||
        CRYPTO_memcmp(it->second->digest.data(), digest.data(), digest.size()) != 0) {
        return unauthorized("Incorrect API key provided.");
    }
    const KeyRecord& rec = *it->second;
    if (rec.entry.revoked) {
        return unauthorized("This API key has been revoked.");
    }
    if (rec.entry.expires_at != 0 && now_ms() / 1000 >= rec.entry.expires_at) {
        return unauthorized("This API key has expired.");
    }
    Principal p;
    p.kind = Principal::Kind::ApiKey;
    p.id = rec.entry.id;
    p.user = rec.entry.owner;
    p.team = rec.entry.team;
    p.key = it->second;
    p.expires_at = rec.entry.expires_at;
    fill_identity(p);
    // A key never carries its owner's admin role: what a key may grant is bounded by the key.
    p.admin = false;
    return p;
}

Result<Principal> Governance::authenticate_jwt(std::string_view token) const {
    bool unknown_kid = false;
    auto id = jwt_->verify(token, now_ms(), &unknown_kid);
    if (!id) {
        if (unknown_kid && jwks_) {
            jwks_->request_refresh();
        }
        return fail(std::move(id).error());
    }
    Principal p;
    p.kind = Principal::Kind::Jwt;
    p.id = fmt::format("jwt:{}:{}", id->issuer_name, id->user);
    p.user = std::move(id->user);
    p.team = std::move(id->team);
    p.roles = std::move(id->roles);
    p.expires_at = id->expires_at;
    fill_identity(p);
    return p;
}

Status Governance::authorize(const Principal& p, std::string_view model) const {
    auto deny = [&](std::string_view why) {
        return fail(ErrorCode::PermissionDenied,
                    fmt::format("You are not allowed to use the model '{}'{}.", model, why),
                    "model");
    };
    if (p.key && !p.key->entry.models.empty() && !any_glob_matches(p.key->entry.models, model)) {
        return deny(" with this API key");
    }
    if (!p.team.empty()) {
        const config::Team* t = team(p.team);
        if (t == nullptr && !auth_.teams.empty()) {
            return deny(": your team is not configured");
        }
        if (t != nullptr && !t->models.empty() && !any_glob_matches(t->models, model)) {
            return deny(" (team allow-list)");
        }
    }
    // The identity's grant: the union of the user's own list and its roles' lists.
    bool restricted = false;
    bool allowed = false;
    if (const config::User* u = user(p.user); u != nullptr && !u->models.empty()) {
        restricted = true;
        allowed = any_glob_matches(u->models, model);
    }
    for (const std::string& r : p.roles) {
        if (const config::Role* rc = role(r); rc != nullptr && !rc->models.empty()) {
            restricted = true;
            allowed = allowed || any_glob_matches(rc->models, model);
        }
    }
    if (restricted && !allowed) {
        return deny(" (user and role allow-lists)");
    }
    return {};
}

Result<Admission> Governance::admit(const Principal& p, std::string_view model, const Estimate& est,
                                    RateLimitInfo* info) {
    Admission adm;
    if (!auth_.enabled) {
        return adm;
    }
    const std::int64_t now = now_ms();
    const std::uint64_t max_tokens =
        est.max_tokens != 0 ? est.max_tokens : auth_.default_max_tokens;
    const auto tokens = static_cast<std::int64_t>(
        std::min<std::uint64_t>(est.prompt_tokens + max_tokens, std::uint64_t{1} << 53));
    const Nanos money = cost_nanos(est.price, Usage{est.prompt_tokens, max_tokens, 0});
    std::vector<Charge> charges;
    CounterTable& table = *counters_;
    auto add_limits = [&](const std::string& scope, const config::RateLimits& l) {
        auto add = [&](std::string_view suffix, Window w, Unit u, std::uint64_t limit,
                       std::int64_t amount) {
            if (limit == 0) {
                return;
            }
            Counter& c = table.get(fmt::format("{}:{}", scope, suffix), w, u,
                                   static_cast<std::int64_t>(limit));
            charges.push_back(Charge{&c, amount, 0});
        };
        add("requests/minute", Window::Minute, Unit::Requests, l.requests_per_minute, 1);
        add("requests/day", Window::Day, Unit::Requests, l.requests_per_day, 1);
        add("tokens/minute", Window::Minute, Unit::Tokens, l.tokens_per_minute, tokens);
        add("tokens/day", Window::Day, Unit::Tokens, l.tokens_per_day, tokens);
    };
    auto add_budget = [&](const std::string& scope, const config::Budget& b) {
        auto add = [&](std::string_view suffix, Window w, double amount) {
            if (amount <= 0) {
                return;
            }
            Counter& c = table.get(fmt::format("{}:spend/{}", scope, suffix), w, Unit::Money,
                                   to_nanos(amount));
            charges.push_back(Charge{&c, money, 0});
        };
        add("day", Window::Day, b.daily);
        add("week", Window::Week, b.weekly);
        add("month", Window::Month, b.monthly);
    };
    if (p.key) {
        const std::string scope = fmt::format("key:{}", p.key->entry.id);
        add_limits(scope, p.key->entry.limits);
        add_budget(scope, p.key->entry.budget);
        if (const auto* l = find_model_limits(p.key->entry.model_limits, model)) {
            add_limits(fmt::format("{}:model:{}", scope, model), *l);
        }
    }
    if (const config::User* u = user(p.user)) {
        const std::string scope = fmt::format("user:{}", u->name);
        add_limits(scope, u->limits);
        add_budget(scope, u->budget);
    }
    if (const config::Team* t = team(p.team)) {
        const std::string scope = fmt::format("team:{}", t->name);
        add_limits(scope, t->limits);
        add_budget(scope, t->budget);
    }
    if (const auto* l = find_model_limits(auth_.model_limits, model)) {
        add_limits(fmt::format("model:{}", model), *l);
    }

    TakeResult r = take_all(charges, now);
    RateLimitInfo ri;
    ri.has_requests = r.requests.present;
    ri.limit_requests = r.requests.limit;
    ri.remaining_requests = r.requests.remaining;
    ri.reset_requests_ms = r.requests.reset_ms;
    ri.has_tokens = r.tokens.present;
    ri.limit_tokens = r.tokens.limit;
    ri.remaining_tokens = r.tokens.remaining;
    ri.reset_tokens_ms = r.tokens.reset_ms;
    if (info != nullptr) {
        *info = ri;
    }
    if (!r.ok) {
        const Counter& c = *r.refused_by;
        Error e;
        if (c.unit == Unit::Money) {
            e = Error{ErrorCode::InsufficientQuota,
                      fmt::format("Budget exceeded for {} this {}: this request could cost up to "
                                  "{:.6f} and would go over the limit of {:.2f}.",
                                  c.name.substr(0, c.name.rfind(':')), to_string(c.window),
                                  from_nanos(money), from_nanos(r.refused_limit))};
        } else {
            e = Error{ErrorCode::RateLimited,
                      fmt::format("Rate limit reached for {} on {} per {}: limit {}{}.",
                                  c.name.substr(0, c.name.rfind(':')), unit_text(c.unit),
                                  to_string(c.window), r.refused_limit,
                                  c.unit == Unit::Tokens
                                      ? fmt::format(", this request reserves {}", tokens)
                                      : std::string())};
        }
        e.retry_after = std::to_string(std::max<std::int64_t>(1, (r.retry_after_ms + 999) / 1000));
        return fail(std::move(e));
    }
    adm.table_ = counters_;
    adm.charges_ = std::move(charges);
    adm.info_ = ri;
    adm.reserved_tokens_ = tokens;
    adm.reserved_cost_ = money;
    adm.active_ = true;
    return adm;
}

Principal Governance::principal_for(std::string owner, std::string team_name) const {
    Principal p;
    p.id = owner.empty() ? std::string("operator") : owner;
    p.user = std::move(owner);
    p.team = std::move(team_name);
    fill_identity(p);
    return p;
}

Status Governance::check_grant(const Principal& creator,
                               const config::ApiKeyEntry& requested) const {
    if (creator.admin) {
        return {};
    }
    auto deny = [](std::string msg) { return fail(ErrorCode::PermissionDenied, std::move(msg)); };
    // Models: every allow-list restricting the creator must cover the new key's list.
    std::vector<const std::vector<std::string>*> lists;
    if (creator.key && !creator.key->entry.models.empty()) {
        lists.push_back(&creator.key->entry.models);
    }
    const config::Team* t = team(creator.team);
    if (t != nullptr && !t->models.empty()) {
        lists.push_back(&t->models);
    }
    std::vector<std::string> identity;
    if (const config::User* u = user(creator.user)) {
        identity.insert(identity.end(), u->models.begin(), u->models.end());
    }
    for (const std::string& r : creator.roles) {
        if (const config::Role* rc = role(r)) {
            identity.insert(identity.end(), rc->models.begin(), rc->models.end());
        }
    }
    if (!identity.empty()) {
        lists.push_back(&identity);
    }
    for (const auto* l : lists) {
        if (requested.models.empty() || !globs_cover(*l, requested.models)) {
            return deny(
                fmt::format("A key can only be given models its creator may use (allowed: "
                            "{}).",
                            fmt::join(*l, ", ")));
        }
    }
    if (!creator.team.empty() && requested.team != creator.team) {
        return deny(
            fmt::format("A key can only be created in the creator's team ({}).", creator.team));
    }
    // Limits and budgets: where the creator is capped, the key must be capped no higher.
    auto check_limits = [&](const config::RateLimits& cap) -> Status {
        auto one = [&](std::uint64_t c, std::uint64_t r, std::string_view name) -> Status {
            if (c != 0 && (r == 0 || r > c)) {
                return deny(fmt::format("The key's {} must be set and at most {}.", name, c));
            }
            return {};
        };
        if (auto s = one(cap.requests_per_minute, requested.limits.requests_per_minute,
                         "requests_per_minute");
            !s) {
            return s;
        }
        if (auto s =
                one(cap.requests_per_day, requested.limits.requests_per_day, "requests_per_day");
            !s) {
            return s;
        }
        if (auto s =
                one(cap.tokens_per_minute, requested.limits.tokens_per_minute, "tokens_per_minute");
            !s) {
            return s;
        }
        return one(cap.tokens_per_day, requested.limits.tokens_per_day, "tokens_per_day");
    };
    auto check_budget = [&](const config::Budget& cap) -> Status {
        auto one = [&](double c, double r, std::string_view name) -> Status {
            if (c > 0 && (r <= 0 || r > c)) {
                return deny(
                    fmt::format("The key's {} budget must be set and at most {:.2f}.", name, c));
            }
            return {};
        };
        if (auto s = one(cap.daily, requested.budget.daily, "daily"); !s) {
            return s;
        }
        if (auto s = one(cap.weekly, requested.budget.weekly, "weekly"); !s) {
            return s;
        }
        return one(cap.monthly, requested.budget.monthly, "monthly");
    };
    if (creator.key) {
        if (auto s = check_limits(creator.key->entry.limits); !s) {
            return s;
        }
        if (auto s = check_budget(creator.key->entry.budget); !s) {
            return s;
        }
    }
    if (const config::User* u = user(creator.user)) {
        if (auto s = check_limits(u->limits); !s) {
            return s;
        }
        if (auto s = check_budget(u->budget); !s) {
            return s;
        }
    }
    if (creator.expires_at != 0 &&
        (requested.expires_at == 0 || requested.expires_at > creator.expires_at)) {
        return deny("A key cannot outlive the credential that creates it.");
    }
    return {};
}

}  // namespace sb::governance
