#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "governance/limiter.h"

struct sqlite3;

namespace sb::governance {

// The embedded single-node store: API keys (hashes only) and spend per budget window, in one
// SQLite file (WAL mode, so the CLI and a running gateway can share it). One connection per
// object; an object is used by one thread at a time. Every statement is parameterised.
class SqliteStore {
  public:
    static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
    ~SqliteStore();
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    Status insert_key(const config::ApiKeyEntry& key, std::int64_t created_at);
    // False when no key has this id.
    Result<bool> revoke(std::string_view id);
    Result<std::vector<config::ApiKeyEntry>> load_keys();
    // Changes whenever another connection commits (PRAGMA data_version).
    Result<std::int64_t> data_version();

    Result<std::vector<SpendRow>> load_spend();
    Status save_spend(const std::vector<SpendRow>& rows);
    // Deletes spend rows of windows that started before `before_ms`.
    Status prune_spend(std::int64_t before_ms);

  private:
    explicit SqliteStore(sqlite3* db) : db_(db) {}
    Status exec(const char* sql);
    sqlite3* db_;
};

// JSON forms of the structured columns (also used by `keys list`).
std::string limits_to_json(const config::RateLimits& l);
std::string budget_to_json(const config::Budget& b);

}  // namespace sb::governance
