// Governance: API keys, RBAC, rate limits, budgets, the SQLite store. In-process, real SQLite
// files in a temporary directory, an injected clock.
#include "governance/governance.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "config/config.h"
#include "core/error.h"
#include "core/glob.h"
#include "governance/keys.h"
#include "governance/store.h"

namespace sb::governance {
namespace {

// 2027-01-06 00:00:30 UTC (a Wednesday), in ms.
constexpr std::int64_t kNow = 1'799'193'630'000;

config::Config parse_config(const std::string& yaml) {
    auto cfg = config::parse(yaml, [](std::string_view) { return std::nullopt; });
    EXPECT_TRUE(cfg) << (cfg ? "" : cfg.error().message);
    return cfg ? *cfg : config::Config{};
}

struct Env {
    std::atomic<std::int64_t> now{kNow};

    std::shared_ptr<Governance> make(const std::string& yaml) {
        Options o;
        o.now_ms = [this] { return now.load(); };
        o.start_threads = false;
        auto g = Governance::create(parse_config(yaml), o);
        EXPECT_TRUE(g) << (g ? "" : g.error().message);
        return g ? *g : nullptr;
    }
};

// Deterministic keys for tests: valid shape, hash computed here.
std::string test_key(char fill) {
    return std::string(kKeyPrefix) + std::string(43, fill);
}
std::string hash_of(const std::string& key) {
    return to_hex(sha256(key));
}

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sb-gov-XXXXXX").string();
        path_ = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

void expect_error(const Status& s, int status, std::string_view code) {
    ASSERT_FALSE(s);
    EXPECT_EQ(http_status(s.error()), status) << s.error().message;
    EXPECT_EQ(error_code_name(s.error()), code) << s.error().message;
}
template <typename T>
void expect_error(const Result<T>& r, int status, std::string_view code) {
    ASSERT_FALSE(r);
    EXPECT_EQ(http_status(r.error()), status) << r.error().message;
    EXPECT_EQ(error_code_name(r.error()), code) << r.error().message;
}

// -- keys ---------------------------------------------------------------------------------------

TEST(ApiKeys, GeneratedKeysHavePrefix256BitsAndAnIndependentId) {
    const NewKey a = generate_key();
    const NewKey b = generate_key();
    EXPECT_EQ(a.secret.substr(0, 6), "sk-sb-");
    EXPECT_EQ(a.secret.size(), 6u + 43u);  // 256 bits in base64url
    EXPECT_NE(a.secret, b.secret);
    EXPECT_EQ(a.hash, to_hex(sha256(a.secret)));
    EXPECT_EQ(a.hash.size(), 64u);
    EXPECT_EQ(a.id.substr(0, 4), "key_");
    EXPECT_EQ(a.hash.find(a.id.substr(4)), std::string::npos);
    EXPECT_NE(a.id, b.id);
}

TEST(Errors, GovernanceCodesMapToOpenAIShapes) {
    EXPECT_EQ(http_status(Error{ErrorCode::InsufficientQuota, "x"}), 429);
    EXPECT_EQ(error_type(Error{ErrorCode::InsufficientQuota, "x"}), "insufficient_quota");
    EXPECT_EQ(error_code_name(Error{ErrorCode::InsufficientQuota, "x"}), "insufficient_quota");
    EXPECT_EQ(error_code_name(Error{ErrorCode::RateLimited, "x"}), "rate_limit_exceeded");
    EXPECT_EQ(error_code_name(Error{ErrorCode::PermissionDenied, "x"}), "permission_denied");
    EXPECT_EQ(error_code_name(Error{ErrorCode::Unauthorized, "x"}), "invalid_api_key");
}

std::string keys_yaml() {
    return R"(
auth:
  teams:
    eng: {models: ["gpt-*", "claude-*"]}
    ops: {}
  keys:
    good: {hash: ")" +
           hash_of(test_key('A')) + R"(", owner: alice, team: eng}
    revoked: {hash: ")" +
           hash_of(test_key('B')) + R"(", revoked: true}
    expired: {hash: ")" +
           hash_of(test_key('C')) + R"(", expires_at: "2027-01-06T00:00:00Z"}
    later: {hash: ")" +
           hash_of(test_key('D')) + R"(", expires_at: "2027-01-07T00:00:00Z"}
)";
}

TEST(AuthMatrix, ApiKeys) {
    Env env;
    auto gov = env.make(keys_yaml());
    ASSERT_TRUE(gov);
    struct Case {
        const char* name;
        std::string authorization;
        std::string x_api_key;
        int status;  // 0 = accepted
    };
    const std::vector<Case> cases = {
        {"missing", "", "", 401},
        {"empty bearer", "Bearer ", "", 401},
        {"wrong scheme", "Basic " + test_key('A'), "", 401},
        {"malformed short", "Bearer sk-sb-short", "", 401},
        {"malformed chars", "Bearer " + std::string(kKeyPrefix) + std::string(42, 'A') + "!", "",
         401},
        {"not a key", "Bearer hello", "", 401},
        {"unknown", "Bearer " + test_key('Z'), "", 401},
        {"revoked", "Bearer " + test_key('B'), "", 401},
        {"expired", "Bearer " + test_key('C'), "", 401},
        {"valid", "Bearer " + test_key('A'), "", 0},
        {"valid lower-case scheme", "bearer " + test_key('A'), "", 0},
        {"valid x-api-key", "", test_key('A'), 0},
        {"not yet expired", "Bearer " + test_key('D'), "", 0},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        auto p = gov->authenticate(c.authorization, c.x_api_key);
        if (c.status == 0) {
            ASSERT_TRUE(p) << p.error().message;
            EXPECT_EQ(p->kind, Principal::Kind::ApiKey);
            continue;
        }
        expect_error(p, c.status, "invalid_api_key");
        // No secret and no full hash in any message.
        for (char fill : {'A', 'B', 'C', 'D', 'Z'}) {
            EXPECT_EQ(p.error().message.find(test_key(fill).substr(6, 20)), std::string::npos);
            EXPECT_EQ(p.error().message.find(hash_of(test_key(fill))), std::string::npos);
        }
    }
    auto p = gov->authenticate("Bearer " + test_key('A'), "");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->id, "good");
    EXPECT_EQ(p->user, "alice");
    EXPECT_EQ(p->team, "eng");
}

TEST(AuthMatrix, KeyExpiresWhenTheClockPassesExpiry) {
    Env env;
    auto gov = env.make(keys_yaml());
    EXPECT_TRUE(gov->authenticate("Bearer " + test_key('D'), ""));
    env.now = 1'799'280'000'000;  // 2027-01-07T00:00:00Z
    expect_error(gov->authenticate("Bearer " + test_key('D'), ""), 401, "invalid_api_key");
}

TEST(AuthMatrix, WithoutAuthSectionEveryoneIsAnonymous) {
    Env env;
    auto gov = env.make("server: {}\n");
    auto p = gov->authenticate("", "");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, Principal::Kind::Anonymous);
    EXPECT_TRUE(gov->authorize(*p, "anything"));
    EXPECT_TRUE(gov->admit(*p, "anything", Estimate{}));
}

TEST(AuthMatrix, OptionalAuthLetsAnonymousInButStillChecksGivenKeys) {
    Env env;
    auto gov = env.make("auth:\n  required: false\n  keys: {k: {hash: \"" + hash_of(test_key('A')) +
                        "\"}}\n");
    auto p = gov->authenticate("", "");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->id, "anonymous");
    expect_error(gov->authenticate("Bearer " + test_key('Z'), ""), 401, "invalid_api_key");
}

// -- config -------------------------------------------------------------------------------------

TEST(AuthConfig, RejectsBadValuesNamingThePath) {
    auto env = [](std::string_view) { return std::optional<std::string>(); };
    struct Case {
        std::string yaml;
        std::string path;
    };
    const std::vector<Case> cases = {
        {"auth: {bogus: 1}", "auth.bogus"},
        {"auth: {keys: {k: {hash: nothex}}}", "auth.keys.k.hash"},
        {"auth: {keys: {k: {owner: x}}}", "auth.keys.k.hash"},
        {"auth: {keys: {k: {hash: \"" + std::string(64, 'a') + "\", team: nope}}}",
         "auth.keys.k.team"},
        {"auth: {key_store: {type: sqlite}}", "auth.key_store.path"},
        {"auth: {key_store: {type: sqlite, path: /tmp/x.db}, keys: {}}", "auth.keys"},
        {"auth: {jwt: {issuers: {i: {issuer: x, algorithm: HS256, jwks_url: "
         "'https://x/jwks'}}}}",
         "auth.jwt.issuers.i.algorithm"},
        {"auth: {jwt: {issuers: {i: {issuer: x, algorithm: RS256}}}}", "auth.jwt.issuers.i"},
        {"auth: {jwt: {issuers: {i: {issuer: x, algorithm: RS256, jwks_url: 'https://x/j', "
         "leeway: 10m}}}}",
         "auth.jwt.issuers.i.leeway"},
        {"auth: {teams: {t: {limits: {requests_per_minute: -1}}}}",
         "auth.teams.t.limits.requests_per_minute"},
        {"auth: {teams: {t: {budget: {daily: abc}}}}", "auth.teams.t.budget.daily"},
        {"auth: {users: {u: {roles: [ghost]}}}", "auth.users.u.roles"},
        {"auth: {keys: {k: {hash: \"" + std::string(64, 'a') + "\", expires_at: tomorrow}}}",
         "auth.keys.k.expires_at"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.yaml);
        auto cfg = config::parse(c.yaml, env);
        ASSERT_FALSE(cfg);
        EXPECT_EQ(cfg.error().message.substr(0, c.path.size() + 1), c.path + ":")
            << cfg.error().message;
    }
    // A bad hash is never echoed.
    auto cfg = config::parse("auth: {keys: {k: {hash: \"" + std::string(63, 'f') + "\"}}}", env);
    ASSERT_FALSE(cfg);
    EXPECT_EQ(cfg.error().message.find(std::string(63, 'f')), std::string::npos);
}

TEST(AuthConfig, ParsesTheExampleSection) {
    const std::string hash = hash_of(test_key('A'));
    auto cfg = parse_config(R"(
auth:
  required: true
  default_max_tokens: 1000
  key_store: {type: yaml}
  keys:
    ci:
      hash: ")" + hash + R"("
      owner: bob
      team: eng
      models: ["gpt-4o*"]
      limits: {requests_per_minute: 60, tokens_per_day: 100000}
      model_limits: {"gpt-4o": {requests_per_minute: 5}}
      budget: {daily: 2.5, monthly: 40}
      expires_at: 1800000000
      metadata: {env: ci}
  teams: {eng: {models: ["*"], budget: {weekly: 100}}}
  users: {bob: {team: eng, roles: [dev]}}
  roles: {dev: {models: ["gpt-*"]}, admin: {admin: true}}
  model_limits: {"gpt-4o": {tokens_per_minute: 90000}}
)");
    const config::Auth& a = cfg.auth;
    ASSERT_TRUE(a.enabled);
    EXPECT_EQ(a.default_max_tokens, 1000u);
    ASSERT_EQ(a.keys.size(), 1u);
    EXPECT_EQ(a.keys[0].id, "ci");
    EXPECT_EQ(a.keys[0].hash, hash);
    EXPECT_EQ(a.keys[0].limits.requests_per_minute, 60u);
    EXPECT_EQ(a.keys[0].limits.tokens_per_day, 100000u);
    EXPECT_DOUBLE_EQ(a.keys[0].budget.daily, 2.5);
    EXPECT_EQ(a.keys[0].expires_at, 1800000000);
    ASSERT_EQ(a.keys[0].model_limits.size(), 1u);
    EXPECT_EQ(a.keys[0].metadata.at(0).second, "ci");
    ASSERT_EQ(a.roles.size(), 2u);
    EXPECT_TRUE(a.roles[1].admin);
    ASSERT_EQ(a.model_limits.size(), 1u);
}

// -- globs and RBAC -----------------------------------------------------------------------------

TEST(Globs, MatchAndCover) {
    EXPECT_TRUE(glob_match("gpt-*", "gpt-4o"));
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("gpt-?o", "gpt-4o"));
    EXPECT_FALSE(glob_match("gpt-?o", "gpt-4oo"));
    EXPECT_TRUE(glob_match("*-mini", "gpt-4o-mini"));
    EXPECT_FALSE(glob_match("gpt-4o", "gpt-4o-mini"));
    EXPECT_TRUE(glob_match("a*b*c", "axxbyyc"));
    EXPECT_FALSE(glob_match("a*b*c", "axxbyy"));

    EXPECT_TRUE(glob_covers("*", "gpt-*"));
    EXPECT_TRUE(glob_covers("gpt-*", "gpt-4o*"));
    EXPECT_TRUE(glob_covers("gpt-*", "gpt-4o"));
    EXPECT_TRUE(glob_covers("gpt-?o", "gpt-4o"));
    EXPECT_FALSE(glob_covers("gpt-4o", "gpt-*"));
    EXPECT_FALSE(glob_covers("gpt-4o*", "gpt-*"));
    EXPECT_FALSE(glob_covers("gpt-?o", "gpt-*o"));
    EXPECT_FALSE(glob_covers("gpt-4o", "gpt-?o"));
    EXPECT_TRUE(globs_cover({"gpt-*", "claude-*"}, {"gpt-4o", "claude-3*"}));
    EXPECT_FALSE(globs_cover({"gpt-*"}, {"gpt-4o", "claude-3"}));
}

std::string rbac_yaml() {
    auto k = [](char c) { return hash_of(test_key(c)); };
    return R"(
auth:
  teams:
    eng: {models: ["gpt-*", "claude-*"]}
    open: {}
  roles:
    dev: {models: ["gpt-4o*"]}
    research: {models: ["claude-*"]}
    admin: {admin: true}
  users:
    alice: {team: eng, roles: [dev]}
    carol: {team: eng, roles: [dev, research]}
    root: {roles: [admin]}
  keys:
    k_eng_all: {hash: ")" +
           k('A') + R"(", team: eng}
    k_eng_narrow: {hash: ")" +
           k('B') + R"(", team: eng, models: ["claude-3-haiku"]}
    k_alice: {hash: ")" +
           k('C') + R"(", owner: alice, team: eng}
    k_carol: {hash: ")" +
           k('D') + R"(", owner: carol, team: eng}
    k_open: {hash: ")" +
           k('E') + R"(", team: open}
    k_none: {hash: ")" +
           k('F') + R"("}
    k_key_wider_than_team: {hash: ")" +
           k('G') + R"(", team: eng, models: ["*"]}
    k_root: {hash: ")" +
           k('I') + R"(", owner: root}
)";
}

TEST(RbacMatrix, AllowListsOfKeyTeamUserAndRoles) {
    Env env;
    auto gov = env.make(rbac_yaml());
    ASSERT_TRUE(gov);
    struct Case {
        char key;
        const char* model;
        bool allowed;
    };
    const std::vector<Case> cases = {
        {'A', "gpt-4o", true},          {'A', "claude-3-haiku", true}, {'A', "llama-3", false},
        {'B', "claude-3-haiku", true},  {'B', "claude-3-opus", false}, {'B', "gpt-4o", false},
        {'C', "gpt-4o", true},          {'C', "gpt-4o-mini", true},    {'C', "gpt-3.5", false},
        {'C', "claude-3-haiku", false}, {'D', "gpt-4o", true},         {'D', "claude-3", true},
        {'D', "gpt-3.5", false},        {'E', "llama-3", true},        {'F', "anything", true},
        {'G', "llama-3", false},        {'G', "gpt-4o", true},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(std::string(1, c.key) + " " + c.model);
        auto p = gov->authenticate("Bearer " + test_key(c.key), "");
        ASSERT_TRUE(p) << p.error().message;
        auto s = gov->authorize(*p, c.model);
        if (c.allowed) {
            EXPECT_TRUE(s) << s.error().message;
        } else {
            expect_error(s, 403, "permission_denied");
            EXPECT_NE(s.error().message.find(c.model), std::string::npos);
            EXPECT_EQ(s.error().param, "model");
        }
    }
}

TEST(RbacMatrix, AKeyDoesNotInheritItsOwnersAdminRole) {
    Env env;
    auto gov = env.make(rbac_yaml());
    auto p = gov->authenticate("Bearer " + test_key('I'), "");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->user, "root");
    EXPECT_FALSE(p->admin);
    config::ApiKeyEntry wide;
    expect_error(gov->check_grant(gov->principal_for("alice", "eng"), wide), 403,
                 "permission_denied");
    EXPECT_TRUE(gov->principal_for("root", "").admin);
}

TEST(RbacMatrix, UnconfiguredTeamIsDenied) {
    Env env;
    auto gov = env.make(rbac_yaml());
    Principal p;
    p.kind = Principal::Kind::Jwt;
    p.user = "x";
    p.team = "ghost-team";
    expect_error(gov->authorize(p, "gpt-4o"), 403, "permission_denied");
}

TEST(Grants, AKeyNeverGetsMoreThanItsCreator) {
    Env env;
    auto gov = env.make(
        rbac_yaml() + R"(    k_capped: {hash: ")" + hash_of(test_key('H')) +
        R"(", team: eng, models: ["gpt-*"], limits: {requests_per_minute: 10}, budget: {daily: 5}, expires_at: "2027-02-01T00:00:00Z"}
)");
    ASSERT_TRUE(gov);
    auto capped = gov->authenticate("Bearer " + test_key('H'), "");
    ASSERT_TRUE(capped);
    config::ApiKeyEntry req;
    req.team = "eng";
    req.models = {"gpt-4o"};
    req.limits.requests_per_minute = 10;
    req.budget.daily = 5;
    req.expires_at = 1'800'000'000;
    EXPECT_TRUE(gov->check_grant(*capped, req));

    auto wider = req;
    wider.models = {"gpt-*", "claude-*"};
    expect_error(gov->check_grant(*capped, wider), 403, "permission_denied");
    auto unrestricted = req;
    unrestricted.models.clear();
    expect_error(gov->check_grant(*capped, unrestricted), 403, "permission_denied");
    auto more_rpm = req;
    more_rpm.limits.requests_per_minute = 11;
    expect_error(gov->check_grant(*capped, more_rpm), 403, "permission_denied");
    auto no_rpm = req;
    no_rpm.limits.requests_per_minute = 0;
    expect_error(gov->check_grant(*capped, no_rpm), 403, "permission_denied");
    auto more_money = req;
    more_money.budget.daily = 6;
    expect_error(gov->check_grant(*capped, more_money), 403, "permission_denied");
    auto outlives = req;
    outlives.expires_at = 0;
    expect_error(gov->check_grant(*capped, outlives), 403, "permission_denied");
    auto other_team = req;
    other_team.team = "open";
    expect_error(gov->check_grant(*capped, other_team), 403, "permission_denied");

    // A user with role dev (gpt-4o*) in team eng: the role narrows what they may grant.
    const Principal alice = gov->principal_for("alice", "eng");
    auto k = req;
    k.models = {"gpt-4o-mini"};
    EXPECT_TRUE(gov->check_grant(alice, k));
    k.models = {"gpt-*"};
    expect_error(gov->check_grant(alice, k), 403, "permission_denied");
    // Admins may grant anything.
    const Principal root = gov->principal_for("root", "");
    EXPECT_TRUE(root.admin);
    EXPECT_TRUE(gov->check_grant(root, wider));
}

// -- rate limits --------------------------------------------------------------------------------

std::string limits_yaml(const std::string& key_extra, const std::string& auth_extra = "") {
    return R"(
auth:
  default_max_tokens: 100
  teams: {eng: {}}
  keys:
    k1: {hash: ")" +
           hash_of(test_key('A')) + R"(", team: eng)" + key_extra + R"(}
    k2: {hash: ")" +
           hash_of(test_key('B')) + R"(", team: eng}
)" + auth_extra;
}

Principal must_auth(Governance& g, char key) {
    auto p = g.authenticate("Bearer " + test_key(key), "");
    EXPECT_TRUE(p) << p.error().message;
    return p ? *p : Principal{};
}

TEST(RateLimits, ThousandConcurrentAdmissionsAgainstALimitOfHundredAdmitExactlyHundred) {
    Env env;
    auto gov = env.make(limits_yaml(", limits: {requests_per_minute: 100}"));
    const Principal p = must_auth(*gov, 'A');
    constexpr int kThreads = 16;
    constexpr int kPerThread = 1000 / kThreads + 1;  // 1008 attempts
    std::atomic<int> admitted{0};
    std::atomic<int> refused{0};
    std::vector<Admission> keep[kThreads];
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            start.arrive_and_wait();
            for (int i = 0; i < kPerThread; ++i) {
                auto a = gov->admit(p, "gpt-4o", Estimate{10, 10, {}});
                if (a) {
                    ++admitted;
                    keep[t].push_back(std::move(*a));
                } else {
                    EXPECT_EQ(error_code_name(a.error()), "rate_limit_exceeded");
                    ++refused;
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(admitted.load(), 100);
    EXPECT_EQ(refused.load(), kThreads * kPerThread - 100);
}

TEST(RateLimits, ConcurrentSettlesAndDropsLeaveExactlyTheActualUsage) {
    Env env;
    auto gov =
        env.make(limits_yaml(", limits: {tokens_per_day: 1000000000}, budget: {daily: 1000}"));
    const Principal p = must_auth(*gov, 'A');
    constexpr int kThreads = 8;
    constexpr int kEach = 500;
    std::atomic<std::int64_t> settled_tokens{0};
    std::atomic<std::int64_t> settled_nanos{0};
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            start.arrive_and_wait();
            for (int i = 0; i < kEach; ++i) {
                auto a = gov->admit(p, "m", Estimate{100, 400, Price{1.0, 2.0, 1.0}});
                ASSERT_TRUE(a);
                if ((i + t) % 3 == 0) {
                    continue;  // dropped: reservation released
                }
                const Usage u{static_cast<std::uint64_t>(i % 50), static_cast<std::uint64_t>(t), 0};
                const double c = 0.000001 * static_cast<double>(i % 7);
                a->settle(u, c);
                settled_tokens += static_cast<std::int64_t>(u.total());
                settled_nanos += to_nanos(c);
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    Counter& tokens =
        gov->counters()->get("key:k1:tokens/day", Window::Day, Unit::Tokens, 1'000'000'000);
    Counter& money =
        gov->counters()->get("key:k1:spend/day", Window::Day, Unit::Money, 1'000'000'000'000);
    std::lock_guard lt(tokens.mu);
    std::lock_guard lm(money.mu);
    EXPECT_EQ(tokens.used, settled_tokens.load());
    EXPECT_EQ(money.used, settled_nanos.load());
}

TEST(RateLimits, TokensReserveAtAdmissionAndSettleToActualUsage) {
    Env env;
    auto gov = env.make(limits_yaml(", limits: {tokens_per_minute: 1000}"));
    const Principal p = must_auth(*gov, 'A');
    auto a = gov->admit(p, "m", Estimate{100, 500, {}});  // reserves 600
    ASSERT_TRUE(a);
    EXPECT_EQ(a->reserved_tokens(), 600);
    EXPECT_EQ(a->info().remaining_tokens, 400);
    RateLimitInfo info;
    auto b = gov->admit(p, "m", Estimate{100, 500, {}}, &info);
    expect_error(b, 429, "rate_limit_exceeded");
    EXPECT_EQ(b.error().retry_after, "30");  // the minute ends 30 s after kNow
    EXPECT_EQ(info.remaining_tokens, 400);
    a->settle(Usage{80, 20, 0}, 0.0);  // actual 100
    auto c = gov->admit(p, "m", Estimate{100, 500, {}}, &info);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->info().remaining_tokens, 300);
}

TEST(RateLimits, DroppingAnAdmissionReleasesTokensButCountsTheRequest) {
    Env env;
    auto gov = env.make(limits_yaml(", limits: {tokens_per_minute: 1000, requests_per_minute: 5}"));
    const Principal p = must_auth(*gov, 'A');
    {
        auto a = gov->admit(p, "m", Estimate{100, 800, {}});
        ASSERT_TRUE(a);
        EXPECT_EQ(a->info().remaining_requests, 4);
    }
    auto b = gov->admit(p, "m", Estimate{100, 800, {}});
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(b->info().remaining_requests, 3);
}

TEST(RateLimits, DefaultMaxTokensIsReservedWhenTheRequestHasNone) {
    Env env;
    auto gov = env.make(limits_yaml(", limits: {tokens_per_minute: 250}"));
    const Principal p = must_auth(*gov, 'A');
    auto a = gov->admit(p, "m", Estimate{20, 0, {}});  // 20 + default 100
    ASSERT_TRUE(a);
    EXPECT_EQ(a->reserved_tokens(), 120);
    auto b = gov->admit(p, "m", Estimate{20, 0, {}});
    ASSERT_TRUE(b);
    expect_error(gov->admit(p, "m", Estimate{20, 0, {}}), 429, "rate_limit_exceeded");
}

TEST(RateLimits, WindowsResetOnTheMinuteAndTheDay) {
    Env env;
    auto gov = env.make(limits_yaml(", limits: {requests_per_minute: 2, requests_per_day: 3}"));
    const Principal p = must_auth(*gov, 'A');
    EXPECT_TRUE(gov->admit(p, "m", Estimate{}));
    EXPECT_TRUE(gov->admit(p, "m", Estimate{}));
    auto r = gov->admit(p, "m", Estimate{});
    expect_error(r, 429, "rate_limit_exceeded");
    EXPECT_NE(r.error().message.find("per minute"), std::string::npos);
    env.now += 30'000;  // next minute
    EXPECT_TRUE(gov->admit(p, "m", Estimate{}));
    r = gov->admit(p, "m", Estimate{});
    expect_error(r, 429, "rate_limit_exceeded");
    EXPECT_NE(r.error().message.find("per day"), std::string::npos);
    EXPECT_EQ(r.error().retry_after, std::to_string(86400 - 30 - 30));
    env.now += 86'400'000;
    EXPECT_TRUE(gov->admit(p, "m", Estimate{}));
}

TEST(RateLimits, TeamModelAndKeyModelScopes) {
    Env env;
    auto gov = env.make(limits_yaml(", model_limits: {\"gpt-*\": {requests_per_minute: 1}}",
                                    "  model_limits: {\"claude-*\": {requests_per_minute: 2}}\n") +
                        "\n");
    const Principal k1 = must_auth(*gov, 'A');
    const Principal k2 = must_auth(*gov, 'B');
    // key x model: k1 may call gpt-4o once per minute, gpt-4o-mini once too (separate counter).
    EXPECT_TRUE(gov->admit(k1, "gpt-4o", Estimate{}));
    expect_error(gov->admit(k1, "gpt-4o", Estimate{}), 429, "rate_limit_exceeded");
    EXPECT_TRUE(gov->admit(k1, "gpt-4o-mini", Estimate{}));
    EXPECT_TRUE(gov->admit(k2, "gpt-4o", Estimate{}));  // k2 has no key x model limit
    // model: claude-* limited to 2 per minute per model, shared by every key.
    EXPECT_TRUE(gov->admit(k1, "claude-3", Estimate{}));
    EXPECT_TRUE(gov->admit(k2, "claude-3", Estimate{}));
    expect_error(gov->admit(k1, "claude-3", Estimate{}), 429, "rate_limit_exceeded");
    EXPECT_TRUE(gov->admit(k1, "claude-4", Estimate{}));
}

TEST(RateLimits, TeamLimitIsSharedByItsKeysAndARefusalTakesNothing) {
    Env env;
    auto gov = env.make(R"(
auth:
  teams: {eng: {limits: {requests_per_minute: 3}}}
  keys:
    k1: {hash: ")" + hash_of(test_key('A')) +
                        R"(", team: eng, limits: {requests_per_minute: 2}}
    k2: {hash: ")" + hash_of(test_key('B')) +
                        R"(", team: eng}
)");
    const Principal k1 = must_auth(*gov, 'A');
    const Principal k2 = must_auth(*gov, 'B');
    EXPECT_TRUE(gov->admit(k1, "m", Estimate{}));
    EXPECT_TRUE(gov->admit(k1, "m", Estimate{}));
    expect_error(gov->admit(k1, "m", Estimate{}), 429, "rate_limit_exceeded");  // key limit
    EXPECT_TRUE(gov->admit(k2, "m", Estimate{}));  // the refusal above took no team capacity
    expect_error(gov->admit(k2, "m", Estimate{}), 429, "rate_limit_exceeded");  // team limit
}

TEST(RateLimits, HeadersFollowOpenAIsNames) {
    Env env;
    auto gov =
        env.make(limits_yaml(", limits: {requests_per_minute: 10, tokens_per_minute: 1000}"));
    const Principal p = must_auth(*gov, 'A');
    auto a = gov->admit(p, "m", Estimate{50, 50, {}});
    ASSERT_TRUE(a);
    const auto h = rate_limit_headers(a->info());
    ASSERT_EQ(h.size(), 6u);
    EXPECT_EQ(h[0], std::make_pair(std::string("x-ratelimit-limit-requests"), std::string("10")));
    EXPECT_EQ(h[1].second, "9");
    EXPECT_EQ(h[2].first, "x-ratelimit-reset-requests");
    EXPECT_EQ(h[2].second, "30s");
    EXPECT_EQ(h[3].second, "1000");
    EXPECT_EQ(h[4].first, "x-ratelimit-remaining-tokens");
    EXPECT_EQ(h[4].second, "900");
    RateLimitInfo none;
    EXPECT_TRUE(rate_limit_headers(none).empty());
    RateLimitInfo day;
    day.has_requests = true;
    day.reset_requests_ms = 3'723'000;
    EXPECT_EQ(rate_limit_headers(day)[2].second, "1h2m3s");
    day.reset_requests_ms = 250;
    EXPECT_EQ(rate_limit_headers(day)[2].second, "250ms");
}

// -- cost and budgets ---------------------------------------------------------------------------

// One price and usage type for the config, routing, the gateway and governance.
static_assert(std::is_same_v<config::Price, Price>);
static_assert(std::is_same_v<api::Usage, Usage>);

TEST(Cost, PricesPerMillionWithCachedInput) {
    const Price price{2.5, 10.0, 1.25};
    EXPECT_DOUBLE_EQ(cost(price, Usage{1000, 500, 200}), 0.00725);
    EXPECT_EQ(cost_nanos(price, Usage{1000, 500, 200}), 7'250'000);
    // cached_input equal to input (the config's default when not given): cache reads cost as
    // input.
    EXPECT_DOUBLE_EQ(cost(Price{2.5, 10.0, 2.5}, Usage{1000, 0, 200}), 0.0025);
    EXPECT_EQ(cost_nanos(Price{}, Usage{1000, 1000, 0}), 0);
    // Cached tokens count at most the prompt; reasoning tokens are part of completion_tokens and
    // not billed twice.
    EXPECT_EQ(cost_nanos(price, Usage{100, 0, 500}), 125'000);
    EXPECT_EQ(cost_nanos(price, Usage{0, 100, 0, 80}), 1'000'000);
    // Rounded up to a whole nano-unit: 1 token at 0.0375 per million is 37.5 nano-units, 2 are
    // exactly 75; 1 token at 0.0005 per million is half a nano-unit.
    EXPECT_EQ(cost_nanos(Price{0.0375, 0.0375, 0.0375}, Usage{1, 0, 0}), 38);
    EXPECT_EQ(cost_nanos(Price{0.0375, 0.0375, 0.0375}, Usage{2, 0, 0}), 75);
    EXPECT_EQ(cost_nanos(Price{0.0005, 0.0005, 0.0005}, Usage{0, 1, 0}), 1);
    EXPECT_EQ(to_nanos(-1.0), 0);
    EXPECT_DOUBLE_EQ(from_nanos(7'250'000), 0.00725);
    EXPECT_EQ(format_cost(7'250'000), "0.00725");
    EXPECT_EQ(format_cost(0), "0");
    EXPECT_EQ(format_cost(12'000'000'001), "12.000000001");
    EXPECT_EQ(format_cost(3'000'000'000), "3");
    EXPECT_EQ(estimate_prompt_tokens(0), 16u);
    EXPECT_EQ(estimate_prompt_tokens(401), 101u + 16u);
}

TEST(Budgets, ParallelReservationsNeverOverspend) {
    Env env;
    auto gov = env.make(limits_yaml(", budget: {daily: 1.00}"));
    const Principal p = must_auth(*gov, 'A');
    // Worst case per request: 1000 in at $10/M + 2000 out at $10/M = $0.03 -> 33 fit in $1.
    const Estimate est{1000, 2000, Price{10.0, 10.0, 10.0}};
    constexpr int kThreads = 12;
    std::latch start(kThreads);
    std::atomic<int> admitted{0};
    std::atomic<int> quota{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            start.arrive_and_wait();
            for (int i = 0; i < 100; ++i) {
                auto a = gov->admit(p, "m", est);
                if (!a) {
                    EXPECT_EQ(error_code_name(a.error()), "insufficient_quota");
                    ++quota;
                    continue;
                }
                ++admitted;
                a->settle(Usage{1000, 2000, 0}, est.price);  // actual == worst case
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(admitted.load(), 33);
    EXPECT_EQ(quota.load(), kThreads * 100 - 33);
    Counter& c = gov->counters()->get("key:k1:spend/day", Window::Day, Unit::Money, 1'000'000'000);
    std::lock_guard lock(c.mu);
    EXPECT_EQ(c.used, 33 * 30'000'000);  // spent $0.99, overspend 0
    EXPECT_LE(c.used, c.limit);
}

TEST(Budgets, SettleReplacesTheWorstCaseWithTheActualCost) {
    Env env;
    auto gov = env.make(limits_yaml(", budget: {daily: 0.05}"));
    const Principal p = must_auth(*gov, 'A');
    const Estimate est{1000, 2000, Price{10.0, 10.0, 10.0}};  // $0.03 worst case
    auto a = gov->admit(p, "m", est);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->reserved_cost_nanos(), 30'000'000);
    auto b = gov->admit(p, "m", est);  // 0.06 > 0.05
    expect_error(b, 429, "insufficient_quota");
    EXPECT_FALSE(b.error().retry_after.empty());
    a->settle(Usage{1000, 100, 0}, 0.011);
    EXPECT_TRUE(gov->admit(p, "m", est));  // 0.011 + 0.03 <= 0.05
}

TEST(Budgets, TeamWeeklyBudgetCoversAllItsKeys) {
    Env env;
    auto gov = env.make(R"(
auth:
  teams: {eng: {budget: {weekly: 0.10}}}
  keys:
    k1: {hash: ")" + hash_of(test_key('A')) +
                        R"(", team: eng}
    k2: {hash: ")" + hash_of(test_key('B')) +
                        R"(", team: eng}
)");
    const Estimate est{0, 1000, Price{0, 50.0, 0}};  // $0.05
    auto a = gov->admit(must_auth(*gov, 'A'), "m", est);
    auto b = gov->admit(must_auth(*gov, 'B'), "m", est);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    expect_error(gov->admit(must_auth(*gov, 'B'), "m", est), 429, "insufficient_quota");
}

TEST(CounterTable, SpendWhoseWriteFailedIsWrittenAgain) {
    CounterTable table;
    Counter& c = table.get("key:k:spend/day", Window::Day, Unit::Money, 100);
    std::vector<Charge> charges{Charge{&c, 7, 0}};
    ASSERT_TRUE(take_all(charges, kNow).ok);
    auto dirty = table.take_dirty();
    ASSERT_EQ(dirty.size(), 1u);
    EXPECT_EQ(dirty[0].used, 7);
    EXPECT_TRUE(table.take_dirty().empty());
    table.mark_dirty(dirty);  // the write failed
    auto again = table.take_dirty();
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].used, 7);
    // Request and token counters are never persisted.
    Counter& r = table.get("key:k:requests/minute", Window::Minute, Unit::Requests, 5);
    std::vector<Charge> req{Charge{&r, 1, 0}};
    ASSERT_TRUE(take_all(req, kNow).ok);
    EXPECT_TRUE(table.take_dirty().empty());
}

TEST(Windows, WeeksStartOnMondayAndMonthsOnTheFirst) {
    // 2027-01-06 (Wednesday) -> Monday 2027-01-04; month 2027-01-01; next month 2027-02-01.
    EXPECT_EQ(window_start(Window::Week, kNow), 1'799'020'800'000);
    EXPECT_EQ(window_start(Window::Month, kNow), 1'798'761'600'000);
    EXPECT_EQ(window_end(Window::Month, 1'798'761'600'000), 1'801'440'000'000);
    EXPECT_EQ(window_end(Window::Month, 1'827'619'200'000), 1'830'297'600'000);  // Dec 2027
}

// -- SQLite store -------------------------------------------------------------------------------

TEST(SqliteStore, SpendSurvivesARestart) {
    TempDir dir;
    const std::string yaml = limits_yaml(", budget: {daily: 1.00}") +
                             "  key_store: {type: yaml, path: " + dir.file("state.db") + "}\n";
    const Estimate est{0, 10000, Price{0, 70.0, 0}};  // $0.70 worst case
    {
        Env env;
        auto gov = env.make(yaml);
        ASSERT_TRUE(gov);
        auto a = gov->admit(must_auth(*gov, 'A'), "m", est);
        ASSERT_TRUE(a);
        a->settle(Usage{0, 5000, 0}, Price{0, 80.0, 0});  // actual $0.40
    }                                                     // destructor writes spend
    {
        Env env;
        auto gov = env.make(yaml);
        ASSERT_TRUE(gov);
        const Principal p = must_auth(*gov, 'A');
        expect_error(gov->admit(p, "m", est), 429, "insufficient_quota");  // 0.40 + 0.70 > 1
        auto b = gov->admit(p, "m", Estimate{0, 10000, Price{0, 60.0, 0}});
        ASSERT_TRUE(b);  // 0.40 + 0.60 == 1
        b->settle(Usage{}, 0.0);
        EXPECT_TRUE(gov->sync_store_now());
    }
    {
        // Rows of long-gone windows are pruned at start.
        auto store = SqliteStore::open(dir.file("state.db"));
        ASSERT_TRUE(store);
        ASSERT_TRUE((*store)->save_spend({SpendRow{"key:k1:spend/day", 0, 5}}));
        ASSERT_EQ((*store)->load_spend()->size(), 2u);
    }
    {
        // The next day the budget is fresh.
        Env env;
        env.now += 86'400'000;
        auto gov = env.make(yaml);
        EXPECT_TRUE(gov->admit(must_auth(*gov, 'A'), "m", est));
        auto store = SqliteStore::open(dir.file("state.db"));
        ASSERT_TRUE(store);
        EXPECT_EQ((*store)->load_spend()->size(), 1u);
    }
}

TEST(SqliteStore, KeysAreStoredAsHashesAndRevocationIsPickedUp) {
    TempDir dir;
    const std::string db = dir.file("keys.db");
    const NewKey nk = generate_key();
    {
        auto store = SqliteStore::open(db);
        ASSERT_TRUE(store) << store.error().message;
        config::ApiKeyEntry e;
        e.id = nk.id;
        e.hash = nk.hash;
        e.owner = "alice";
        e.models = {"gpt-*"};
        e.limits.requests_per_minute = 7;
        e.budget.monthly = 12.5;
        e.metadata = {{"env", "prod"}};
        ASSERT_TRUE((*store)->insert_key(e, 1));
        // A second key with the same hash is refused by the schema.
        e.id = "other";
        EXPECT_FALSE((*store)->insert_key(e, 2));
    }
    Env env;
    auto gov = env.make("auth:\n  key_store: {type: sqlite, path: " + db + "}\n");
    ASSERT_TRUE(gov);
    auto p = gov->authenticate("Bearer " + nk.secret, "");
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->id, nk.id);
    EXPECT_EQ(p->key->entry.limits.requests_per_minute, 7u);
    EXPECT_DOUBLE_EQ(p->key->entry.budget.monthly, 12.5);
    EXPECT_EQ(p->key->entry.metadata.at(0).second, "prod");
    expect_error(gov->authorize(*p, "claude-3"), 403, "permission_denied");

    // The file holds the hash, never the key.
    std::string bytes;
    {
        std::FILE* f = std::fopen(db.c_str(), "rb");
        ASSERT_NE(f, nullptr);
        char buf[4096];
        std::size_t n = 0;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
            bytes.append(buf, n);
        }
        std::fclose(f);
    }
    EXPECT_EQ(bytes.find(nk.secret.substr(6)), std::string::npos);

    {
        auto store = SqliteStore::open(db);
        ASSERT_TRUE(store);
        EXPECT_TRUE(*(*store)->revoke(nk.id));
        EXPECT_FALSE(*(*store)->revoke("key_nope"));
    }
    ASSERT_TRUE(gov->sync_store_now());
    expect_error(gov->authenticate("Bearer " + nk.secret, ""), 401, "invalid_api_key");
}

TEST(SqliteStore, TheStoreThreadWritesSpendAndPicksUpRevocationsWhileRunning) {
    TempDir dir;
    const std::string db = dir.file("live.db");
    const NewKey nk = generate_key();
    {
        auto store = SqliteStore::open(db);
        ASSERT_TRUE(store);
        config::ApiKeyEntry e;
        e.id = nk.id;
        e.hash = nk.hash;
        e.budget.daily = 10;
        ASSERT_TRUE((*store)->insert_key(e, 1));
    }
    std::mutex mu;
    std::condition_variable cv;
    int rounds = 0;
    Options o;
    o.on_store_synced = [&] {
        std::lock_guard lock(mu);
        ++rounds;
        cv.notify_all();
    };
    auto wait_rounds = [&](int n) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, std::chrono::seconds(20), [&] { return rounds >= n; });
    };
    auto g = Governance::create(parse_config("auth:\n  key_store: {type: sqlite, path: " + db +
                                             ", refresh: 10ms, spend_flush: 10ms}\n"),
                                o);
    ASSERT_TRUE(g) << g.error().message;
    Governance& gov = **g;
    auto p = gov.authenticate("Bearer " + nk.secret, "");
    ASSERT_TRUE(p) << p.error().message;
    auto a = gov.admit(*p, "m", Estimate{});
    ASSERT_TRUE(a);
    a->settle(Usage{}, 0.25);
    int seen = 0;
    {
        std::lock_guard lock(mu);
        seen = rounds;
    }
    ASSERT_TRUE(wait_rounds(seen + 2));  // a full round after the settle
    {
        auto store = SqliteStore::open(db);
        ASSERT_TRUE(store);
        auto rows = (*store)->load_spend();
        ASSERT_TRUE(rows);
        ASSERT_EQ(rows->size(), 1u);
        EXPECT_EQ(rows->at(0).name, "key:" + nk.id + ":spend/day");
        EXPECT_EQ(rows->at(0).used, 250'000'000);
        ASSERT_TRUE(*(*store)->revoke(nk.id));
    }
    {
        std::lock_guard lock(mu);
        seen = rounds;
    }
    ASSERT_TRUE(wait_rounds(seen + 2));
    expect_error(gov.authenticate("Bearer " + nk.secret, ""), 401, "invalid_api_key");
}

TEST(SqliteStore, RefusesAFileThatIsNotADatabase) {
    TempDir dir;
    const std::string path = dir.file("junk.db");
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fputs("this is not sqlite, just text that is long enough to be a header.......", f);
    std::fclose(f);
    Env env;
    Options o;
    o.start_threads = false;
    auto g = Governance::create(
        parse_config("auth:\n  key_store: {type: sqlite, path: " + path + "}\n"), o);
    ASSERT_FALSE(g);
    EXPECT_NE(g.error().message.find("key store"), std::string::npos);
}

}  // namespace
}  // namespace sb::governance
