#include "governance/limiter.h"

#include <algorithm>
#include <functional>

namespace sb::governance {
namespace {

constexpr std::int64_t kMinuteMs = 60'000;
constexpr std::int64_t kDayMs = 86'400'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        --q;
    }
    return q;
}

// Civil date from days since 1970-01-01 (Howard Hinnant's published algorithm).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = floor_div(z, 146097);
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2 ? 1 : 0;
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = floor_div(y, 400);
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::int64_t window_start(Window w, std::int64_t now_ms) {
    switch (w) {
        case Window::Minute:
            return floor_div(now_ms, kMinuteMs) * kMinuteMs;
        case Window::Day:
            return floor_div(now_ms, kDayMs) * kDayMs;
        case Window::Week: {
            // 1970-01-01 was a Thursday; Monday-based weeks start 3 days later (mod 7).
            const std::int64_t days = floor_div(now_ms, kDayMs);
            const std::int64_t monday = days - (((days + 3) % 7) + 7) % 7;
            return monday * kDayMs;
        }
        case Window::Month: {
            std::int64_t y = 0;
            unsigned m = 0;
            unsigned d = 0;
            civil_from_days(floor_div(now_ms, kDayMs), y, m, d);
            return days_from_civil(y, m, 1) * kDayMs;
        }
    }
    return now_ms;
}

std::int64_t window_end(Window w, std::int64_t start_ms) {
    switch (w) {
        case Window::Minute:
            return start_ms + kMinuteMs;
        case Window::Day:
            return start_ms + kDayMs;
        case Window::Week:
            return start_ms + 7 * kDayMs;
        case Window::Month: {
            std::int64_t y = 0;
            unsigned m = 0;
            unsigned d = 0;
            civil_from_days(floor_div(start_ms, kDayMs), y, m, d);
            if (m == 12) {
                return days_from_civil(y + 1, 1, 1) * kDayMs;
            }
            return days_from_civil(y, m + 1, 1) * kDayMs;
        }
    }
    return start_ms;
}

std::string_view to_string(Window w) {
    switch (w) {
        case Window::Minute:
            return "minute";
        case Window::Day:
            return "day";
        case Window::Week:
            return "week";
        case Window::Month:
            return "month";
    }
    return "?";
}

void Counter::roll(std::int64_t now_ms) {
    if (start_ms != INT64_MIN && now_ms < window_end(window, start_ms) && now_ms >= start_ms) {
        return;
    }
    const std::int64_t s = window_start(window, now_ms);
    if (s != start_ms) {
        start_ms = s;
        used = 0;
        dirty = persist;
    }
}

Counter& CounterTable::get(const std::string& name, Window window, Unit unit, std::int64_t limit) {
    Stripe& stripe = stripes_[std::hash<std::string>{}(name) % stripes_.size()];
    Counter* c = nullptr;
    bool created = false;
    {
        std::lock_guard lock(stripe.mu);
        auto& slot = stripe.map[name];
        if (!slot) {
            slot = std::make_unique<Counter>();
            slot->name = name;
            slot->window = window;
            slot->unit = unit;
            slot->persist = unit == Unit::Money;
            slot->limit = limit;
            created = true;
            if (slot->persist) {
                std::lock_guard plock(persisted_mu_);
                if (auto it = preloaded_.find(name); it != preloaded_.end()) {
                    slot->start_ms = it->second.window_start_ms;
                    slot->used = it->second.used;
                }
            }
        }
        c = slot.get();
    }
    if (created) {
        if (c->persist) {
            std::lock_guard plock(persisted_mu_);
            persisted_.push_back(c);
        }
    } else {
        std::lock_guard lock(c->mu);
        c->limit = limit;  // a config reload sharing this table may have changed it
    }
    return *c;
}

void CounterTable::preload(std::vector<SpendRow> rows) {
    std::lock_guard lock(persisted_mu_);
    for (SpendRow& r : rows) {
        std::string name = r.name;
        preloaded_[std::move(name)] = std::move(r);
    }
}

std::vector<SpendRow> CounterTable::take_dirty() {
    std::vector<Counter*> all;
    {
        std::lock_guard lock(persisted_mu_);
        all = persisted_;
    }
    std::vector<SpendRow> out;
    for (Counter* c : all) {
        std::lock_guard lock(c->mu);
        if (c->dirty) {
            c->dirty = false;
            out.push_back(SpendRow{c->name, c->start_ms, c->used});
        }
    }
    return out;
}

void CounterTable::mark_dirty(const std::vector<SpendRow>& rows) {
    for (const SpendRow& r : rows) {
        Stripe& stripe = stripes_[std::hash<std::string>{}(r.name) % stripes_.size()];
        Counter* c = nullptr;
        {
            std::lock_guard lock(stripe.mu);
            auto it = stripe.map.find(r.name);
            if (it == stripe.map.end()) {
                continue;
            }
            c = it->second.get();
        }
        std::lock_guard lock(c->mu);
        if (c->start_ms == r.window_start_ms) {
            c->dirty = true;
        }
    }
}

TakeResult take_all(std::vector<Charge>& charges, std::int64_t now_ms) {
    // Lock in address order: no deadlock between admissions touching overlapping counters.
    std::vector<Counter*> order;
    order.reserve(charges.size());
    for (const Charge& ch : charges) {
        order.push_back(ch.counter);
    }
    std::sort(order.begin(), order.end());
    order.erase(std::unique(order.begin(), order.end()), order.end());
    for (Counter* c : order) {
        c->mu.lock();
    }
    TakeResult r;
    for (Counter* c : order) {
        c->roll(now_ms);
    }
    // The same counter may appear twice (e.g. two scopes resolving to one name): sum per counter.
    for (Counter* c : order) {
        std::int64_t want = 0;
        for (const Charge& ch : charges) {
            if (ch.counter == c) {
                want += ch.amount;
            }
        }
        if (c->limit > 0 && c->used + want > c->limit) {
            if (r.ok) {
                r.refused_by = c;
                r.refused_limit = c->limit;
            }
            r.ok = false;
            r.retry_after_ms =
                std::max(r.retry_after_ms, window_end(c->window, c->start_ms) - now_ms);
        }
    }
    if (r.ok) {
        for (Charge& ch : charges) {
            ch.counter->used += ch.amount;
            ch.start_ms = ch.counter->start_ms;
            if (ch.counter->persist && ch.amount != 0) {
                ch.counter->dirty = true;
            }
        }
    }
    for (Counter* c : order) {
        if (c->limit <= 0 || c->unit == Unit::Money) {
            continue;
        }
        TakeResult::View& v = c->unit == Unit::Requests ? r.requests : r.tokens;
        const std::int64_t remaining = std::max<std::int64_t>(0, c->limit - c->used);
        if (!v.present || remaining < v.remaining) {
            v.present = true;
            v.limit = c->limit;
            v.remaining = remaining;
            v.reset_ms = window_end(c->window, c->start_ms) - now_ms;
        }
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        (*it)->mu.unlock();
    }
    return r;
}

void adjust(Charge& charge, std::int64_t actual) {
    Counter* c = charge.counter;
    std::lock_guard lock(c->mu);
    if (c->start_ms == charge.start_ms) {
        c->used = std::max<std::int64_t>(0, c->used + actual - charge.amount);
        if (c->persist && actual != charge.amount) {
            c->dirty = true;
        }
    }
    charge.amount = actual;
}

}  // namespace sb::governance
