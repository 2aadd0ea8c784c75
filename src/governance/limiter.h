#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sb::governance {

// Fixed windows aligned to UTC: a minute, a day, an ISO week (from Monday 00:00), a calendar
// month. A counter's `used` resets when its window ends.
enum class Window : std::uint8_t { Minute, Day, Week, Month };
enum class Unit : std::uint8_t { Requests, Tokens, Money };

std::int64_t window_start(Window w, std::int64_t now_ms);
std::int64_t window_end(Window w, std::int64_t start_ms);
std::string_view to_string(Window w);

// One limit over one fixed window. Guarded by its own mutex; the admission locks every counter
// a request touches in address order, checks them all, then commits, so N concurrent
// admissions never exceed any limit and never refuse spuriously. A later distributed mode
// replaces `limit` by the lease this process holds of the shared limit (see docs/governance.md).
struct Counter {
    std::string name;  // e.g. "key:key_ab12:rpm"; persisted ones are keys in the spend table
    Window window = Window::Minute;
    Unit unit = Unit::Requests;
    bool persist = false;  // money counters: written to the store

    // name, window, unit and persist are set before the counter is published and never change;
    // everything below is guarded by `mu`.
    std::mutex mu;
    std::int64_t limit = 0;
    std::int64_t start_ms = INT64_MIN;  // current window
    std::int64_t used = 0;
    bool dirty = false;

    // Under `mu`: moves to the window containing now, resetting `used` if it changed.
    void roll(std::int64_t now_ms);
};

// A spend value loaded from the store at start.
struct SpendRow {
    std::string name;
    std::int64_t window_start_ms = 0;
    std::int64_t used = 0;
};

// All counters of one process, shared by every worker thread. Lookups go through one of 64
// striped maps; counters never move or disappear once created, so pointers stay valid for the
// table's lifetime.
class CounterTable {
  public:
    CounterTable() = default;
    CounterTable(const CounterTable&) = delete;
    CounterTable& operator=(const CounterTable&) = delete;

    Counter& get(const std::string& name, Window window, Unit unit, std::int64_t limit);

    // Values loaded from the store; applied when the named counter is first created in the same
    // window.
    void preload(std::vector<SpendRow> rows);
    // Persisted counters changed since the last call (their `dirty` flag is cleared).
    std::vector<SpendRow> take_dirty();
    // Marks these counters dirty again (their write failed), unless they moved on meanwhile.
    void mark_dirty(const std::vector<SpendRow>& rows);

  private:
    struct Stripe {
        std::mutex mu;
        std::unordered_map<std::string, std::unique_ptr<Counter>> map;
    };
    std::array<Stripe, 64> stripes_;
    std::mutex persisted_mu_;
    std::vector<Counter*> persisted_;
    std::unordered_map<std::string, SpendRow> preloaded_;
};

// One counter charged by one admission.
struct Charge {
    Counter* counter = nullptr;
    std::int64_t amount = 0;
    std::int64_t start_ms = 0;  // window the amount went into (for settle/release)
};

// Outcome of trying to take every charge at once.
struct TakeResult {
    bool ok = true;
    const Counter* refused_by = nullptr;  // the first counter over its limit
    std::int64_t refused_limit = 0;       // its limit, read under its lock
    std::int64_t retry_after_ms = 0;      // until every refusing counter's window ends
    // Snapshot for headers: the tightest request and token counters (remaining after commit).
    struct View {
        bool present = false;
        std::int64_t limit = 0;
        std::int64_t remaining = 0;
        std::int64_t reset_ms = 0;
    };
    View requests;
    View tokens;
};

// Atomically: all charges fit, and are all committed; or none is.
TakeResult take_all(std::vector<Charge>& charges, std::int64_t now_ms);
// Adjusts a committed charge to `actual` (same window only; a rolled window already forgot it).
void adjust(Charge& charge, std::int64_t actual);

}  // namespace sb::governance
