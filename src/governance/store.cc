#include "governance/store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <boost/json.hpp>

namespace sb::governance {
namespace {

namespace json = boost::json;

struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

tl::unexpected<Error> db_error(sqlite3* db, std::string_view what) {
    return fail(ErrorCode::Internal, fmt::format("key store: {}: {}", what, sqlite3_errmsg(db)));
}

Result<Stmt> prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
        return db_error(db, "prepare");
    }
    return Stmt(s);
}

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string column_text(sqlite3_stmt* s, int i) {
    const auto* p = sqlite3_column_text(s, i);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
}

json::object limits_json(const config::RateLimits& l) {
    json::object o;
    o["requests_per_minute"] = l.requests_per_minute;
    o["requests_per_day"] = l.requests_per_day;
    o["tokens_per_minute"] = l.tokens_per_minute;
    o["tokens_per_day"] = l.tokens_per_day;
    return o;
}

config::RateLimits limits_from(const json::value& v) {
    config::RateLimits l;
    if (!v.is_object()) {
        return l;
    }
    const auto& o = v.as_object();
    auto get = [&](std::string_view k) -> std::uint64_t {
        const json::value* x = o.if_contains(k);
        if (x == nullptr || !x->is_number()) {
            return 0;
        }
        boost::system::error_code ec;
        const auto n = x->to_number<std::uint64_t>(ec);
        return ec ? 0 : n;
    };
    l.requests_per_minute = get("requests_per_minute");
    l.requests_per_day = get("requests_per_day");
    l.tokens_per_minute = get("tokens_per_minute");
    l.tokens_per_day = get("tokens_per_day");
    return l;
}

json::value parse_or_null(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    return ec ? json::value() : v;
}

}  // namespace

std::string limits_to_json(const config::RateLimits& l) {
    return json::serialize(limits_json(l));
}

std::string budget_to_json(const config::Budget& b) {
    json::object o;
    o["daily"] = b.daily;
    o["weekly"] = b.weekly;
    o["monthly"] = b.monthly;
    return json::serialize(o);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(
        path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
        nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return fail(ErrorCode::Internal, fmt::format("key store {}: {}", path, msg));
    }
    std::unique_ptr<SqliteStore> store(new SqliteStore(db));
    sqlite3_busy_timeout(db, 5000);
    if (auto s = store->exec("PRAGMA journal_mode=WAL;"
                             "CREATE TABLE IF NOT EXISTS api_keys ("
                             " id TEXT PRIMARY KEY,"
                             " hash TEXT NOT NULL UNIQUE,"
                             " owner TEXT NOT NULL DEFAULT '',"
                             " team TEXT NOT NULL DEFAULT '',"
                             " models TEXT NOT NULL DEFAULT '[]',"
                             " limits TEXT NOT NULL DEFAULT '{}',"
                             " model_limits TEXT NOT NULL DEFAULT '{}',"
                             " budget TEXT NOT NULL DEFAULT '{}',"
                             " expires_at INTEGER NOT NULL DEFAULT 0,"
                             " metadata TEXT NOT NULL DEFAULT '{}',"
                             " revoked INTEGER NOT NULL DEFAULT 0,"
                             " created_at INTEGER NOT NULL DEFAULT 0);"
                             "CREATE TABLE IF NOT EXISTS spend ("
                             " counter TEXT NOT NULL,"
                             " window_start_ms INTEGER NOT NULL,"
                             " used_nanos INTEGER NOT NULL,"
                             " PRIMARY KEY (counter, window_start_ms));");
        !s) {
        return fail(std::move(s).error());
    }
    return store;
}

SqliteStore::~SqliteStore() {
    sqlite3_close(db_);
}

Status SqliteStore::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err != nullptr ? err : "unknown error";
        sqlite3_free(err);
        return fail(ErrorCode::Internal, fmt::format("key store: {}", msg));
    }
    return {};
}

Status SqliteStore::insert_key(const config::ApiKeyEntry& k, std::int64_t created_at) {
    SB_TRY(stmt, prepare(db_,
                         "INSERT INTO api_keys (id, hash, owner, team, models, limits, "
                         "model_limits, budget, expires_at, metadata, revoked, created_at) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
    json::array models;
    for (const auto& m : k.models) {
        models.emplace_back(m);
    }
    json::object model_limits;
    for (const auto& [m, l] : k.model_limits) {
        model_limits[m] = limits_json(l);
    }
    json::object metadata;
    for (const auto& [mk, mv] : k.metadata) {
        metadata[mk] = mv;
    }
    bind_text(stmt.get(), 1, k.id);
    bind_text(stmt.get(), 2, k.hash);
    bind_text(stmt.get(), 3, k.owner);
    bind_text(stmt.get(), 4, k.team);
    bind_text(stmt.get(), 5, json::serialize(models));
    bind_text(stmt.get(), 6, limits_to_json(k.limits));
    bind_text(stmt.get(), 7, json::serialize(model_limits));
    bind_text(stmt.get(), 8, budget_to_json(k.budget));
    sqlite3_bind_int64(stmt.get(), 9, k.expires_at);
    bind_text(stmt.get(), 10, json::serialize(metadata));
    sqlite3_bind_int(stmt.get(), 11, k.revoked ? 1 : 0);
    sqlite3_bind_int64(stmt.get(), 12, created_at);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
        return db_error(db_, "insert key");
    }
    return {};
}

Result<bool> SqliteStore::revoke(std::string_view id) {
    SB_TRY(stmt, prepare(db_, "UPDATE api_keys SET revoked = 1 WHERE id = ?1"));
    bind_text(stmt.get(), 1, id);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
        return db_error(db_, "revoke key");
    }
    return sqlite3_changes(db_) > 0;
}

Result<std::vector<config::ApiKeyEntry>> SqliteStore::load_keys() {
    SB_TRY(stmt, prepare(db_,
                         "SELECT id, hash, owner, team, models, limits, model_limits, budget, "
                         "expires_at, metadata, revoked FROM api_keys ORDER BY created_at, id"));
    std::vector<config::ApiKeyEntry> out;
    int rc = 0;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
        config::ApiKeyEntry k;
        k.id = column_text(stmt.get(), 0);
        k.hash = column_text(stmt.get(), 1);
        k.owner = column_text(stmt.get(), 2);
        k.team = column_text(stmt.get(), 3);
        if (auto v = parse_or_null(column_text(stmt.get(), 4)); v.is_array()) {
            for (const auto& m : v.as_array()) {
                if (m.is_string()) {
                    k.models.emplace_back(m.as_string());
                }
            }
        }
        k.limits = limits_from(parse_or_null(column_text(stmt.get(), 5)));
        if (auto v = parse_or_null(column_text(stmt.get(), 6)); v.is_object()) {
            for (const auto& kv : v.as_object()) {
                k.model_limits.emplace_back(std::string(kv.key()), limits_from(kv.value()));
            }
        }
        if (auto v = parse_or_null(column_text(stmt.get(), 7)); v.is_object()) {
            const auto& o = v.as_object();
            auto get = [&](std::string_view key) {
                const json::value* x = o.if_contains(key);
                if (x == nullptr || !x->is_number()) {
                    return 0.0;
                }
                boost::system::error_code ec;
                const double d = x->to_number<double>(ec);
                return ec ? 0.0 : d;
            };
            k.budget.daily = get("daily");
            k.budget.weekly = get("weekly");
            k.budget.monthly = get("monthly");
        }
        k.expires_at = sqlite3_column_int64(stmt.get(), 8);
        if (auto v = parse_or_null(column_text(stmt.get(), 9)); v.is_object()) {
            for (const auto& kv : v.as_object()) {
                if (kv.value().is_string()) {
                    k.metadata.emplace_back(std::string(kv.key()),
                                            std::string(kv.value().as_string()));
                }
            }
        }
        k.revoked = sqlite3_column_int(stmt.get(), 10) != 0;
        out.push_back(std::move(k));
    }
    if (rc != SQLITE_DONE) {
        return db_error(db_, "load keys");
    }
    return out;
}

Result<std::int64_t> SqliteStore::data_version() {
    SB_TRY(stmt, prepare(db_, "PRAGMA data_version"));
    if (sqlite3_step(stmt.get()) != SQLITE_ROW) {
        return db_error(db_, "data_version");
    }
    return sqlite3_column_int64(stmt.get(), 0);
}

Result<std::vector<SpendRow>> SqliteStore::load_spend() {
    SB_TRY(stmt, prepare(db_, "SELECT counter, window_start_ms, used_nanos FROM spend"));
    std::vector<SpendRow> out;
    int rc = 0;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
        out.push_back(SpendRow{column_text(stmt.get(), 0), sqlite3_column_int64(stmt.get(), 1),
                               sqlite3_column_int64(stmt.get(), 2)});
    }
    if (rc != SQLITE_DONE) {
        return db_error(db_, "load spend");
    }
    return out;
}

Status SqliteStore::prune_spend(std::int64_t before_ms) {
    SB_TRY(stmt, prepare(db_, "DELETE FROM spend WHERE window_start_ms < ?1"));
    sqlite3_bind_int64(stmt.get(), 1, before_ms);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
        return db_error(db_, "prune spend");
    }
    return {};
}

Status SqliteStore::save_spend(const std::vector<SpendRow>& rows) {
    if (rows.empty()) {
        return {};
    }
    if (auto s = exec("BEGIN IMMEDIATE"); !s) {
        return s;
    }
    auto stmt = prepare(db_,
                        "INSERT INTO spend (counter, window_start_ms, used_nanos) VALUES (?1, ?2, "
                        "?3) ON CONFLICT (counter, window_start_ms) DO UPDATE SET used_nanos = "
                        "excluded.used_nanos");
    if (!stmt) {
        (void)exec("ROLLBACK");
        return fail(std::move(stmt).error());
    }
    for (const SpendRow& r : rows) {
        sqlite3_reset(stmt->get());
        bind_text(stmt->get(), 1, r.name);
        sqlite3_bind_int64(stmt->get(), 2, r.window_start_ms);
        sqlite3_bind_int64(stmt->get(), 3, r.used);
        if (sqlite3_step(stmt->get()) != SQLITE_DONE) {
            auto err = db_error(db_, "save spend");
            (void)exec("ROLLBACK");
            return err;
        }
    }
    return exec("COMMIT");
}

}  // namespace sb::governance
