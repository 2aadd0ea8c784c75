#include "telemetry/access/record.h"

#include <bit>
#include <cstring>

namespace sb::telemetry::access {

namespace {

// Bumped when the payload layout changes; decode() refuses what it does not know.
constexpr std::uint8_t kPayloadFormat = 1;

template <typename T>
void put_le(std::string& out, T v) {
    char bytes[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        bytes[i] = static_cast<char>((v >> (8 * i)) & 0xff);  // compiles to one store
    }
    out.append(bytes, sizeof(T));
}
void put_u64(std::string& out, std::uint64_t v) {
    put_le(out, v);
}
void put_i64(std::string& out, std::int64_t v) {
    put_u64(out, static_cast<std::uint64_t>(v));
}
void put_i32(std::string& out, std::int32_t v) {
    put_le(out, static_cast<std::uint32_t>(v));
}
void put_f64(std::string& out, double v) {
    put_u64(out, std::bit_cast<std::uint64_t>(v));
}
void put_bool(std::string& out, bool v) {
    out.push_back(v ? '\1' : '\0');
}
void put_str(std::string& out, std::string_view s) {
    put_i32(out, static_cast<std::int32_t>(s.size()));
    out.append(s);
}
template <typename T, typename Put>
void put_opt(std::string& out, const std::optional<T>& v, Put put) {
    put_bool(out, v.has_value());
    if (v) {
        put(out, *v);
    }
}

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }

    std::uint64_t u64() {
        if (!need(8)) {
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) {
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
        }
        pos_ += 8;
        return v;
    }
    std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
    std::int32_t i32() {
        if (!need(4)) {
            return 0;
        }
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
        }
        pos_ += 4;
        return static_cast<std::int32_t>(v);
    }
    double f64() { return std::bit_cast<double>(u64()); }
    bool boolean() {
        if (!need(1)) {
            return false;
        }
        char c = in_[pos_++];
        if (c != 0 && c != 1) {
            ok_ = false;
        }
        return c == 1;
    }
    std::string_view str() {
        std::int32_t n = i32();
        if (n < 0 || !need(static_cast<std::size_t>(n))) {
            ok_ = false;
            return {};
        }
        std::string_view s = in_.substr(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return s;
    }
    // Reads a string into `out`, reusing its capacity.
    void str(std::string& out) { out.assign(str()); }
    void opt_str(std::optional<std::string>& out) {
        if (!boolean()) {
            out.reset();
            return;
        }
        if (!out) {
            out.emplace();
        }
        str(*out);
    }
    std::uint8_t byte() {
        if (!need(1)) {
            return 0;
        }
        return static_cast<std::uint8_t>(in_[pos_++]);
    }
    template <typename T, typename Get>
    std::optional<T> opt(Get get) {
        if (!boolean()) {
            return std::nullopt;
        }
        return get();
    }

  private:
    bool need(std::size_t n) {
        if (!ok_ || in_.size() - pos_ < n) {
            ok_ = false;
            return false;
        }
        return true;
    }
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace

void encode(const AccessRecord& r, std::string& out) {
    out.reserve(out.size() + 256 + r.request_id.size() + r.principal.size() + r.team.size() +
                r.model_requested.size() + r.target.size() +
                (r.request_body ? r.request_body->size() : 0) +
                (r.response_body ? r.response_body->size() : 0) + 64 * r.attempt_details.size());
    out.push_back(static_cast<char>(kPayloadFormat));
    put_str(out, r.request_id);
    put_i64(out, r.started_at_us);
    put_i64(out, r.finished_at_us);
    put_str(out, r.endpoint);
    put_str(out, r.method);
    put_str(out, r.principal);
    put_str(out, r.key_id);
    put_str(out, r.team);
    put_str(out, r.model_requested);
    put_str(out, r.target);
    put_str(out, r.provider);
    put_i32(out, r.status);
    put_str(out, r.error_code);
    put_f64(out, r.total_ms);
    put_opt(out, r.overhead_ms, put_f64);
    put_opt(out, r.ttft_ms, put_f64);
    put_opt(out, r.tokens_in, put_i64);
    put_opt(out, r.tokens_out, put_i64);
    put_opt(out, r.tokens_cached, put_i64);
    put_opt(out, r.tokens_reasoning, put_i64);
    put_opt(out, r.cost_usd, put_f64);
    put_i32(out, r.attempts);
    put_bool(out, r.stream);
    put_str(out, r.cache_outcome);
    put_str(out, r.guardrail_outcome);
    put_opt(out, r.request_body, [](std::string& o, const std::string& s) { put_str(o, s); });
    put_opt(out, r.response_body, [](std::string& o, const std::string& s) { put_str(o, s); });
    put_i32(out, static_cast<std::int32_t>(r.attempt_details.size()));
    for (const AttemptRecord& a : r.attempt_details) {
        put_i32(out, a.index);
        put_str(out, a.provider);
        put_str(out, a.target);
        put_i32(out, a.status);
        put_str(out, a.error_code);
        put_i64(out, a.started_at_us);
        put_f64(out, a.duration_ms);
    }
}

Status decode(std::string_view bytes, AccessRecord& r) {
    Reader in(bytes);
    std::uint8_t format = in.byte();
    if (!in.ok() || format != kPayloadFormat) {
        return fail(ErrorCode::Internal,
                    "access record: unknown payload format " + std::to_string(format));
    }
    in.str(r.request_id);
    r.started_at_us = in.i64();
    r.finished_at_us = in.i64();
    in.str(r.endpoint);
    in.str(r.method);
    in.str(r.principal);
    in.str(r.key_id);
    in.str(r.team);
    in.str(r.model_requested);
    in.str(r.target);
    in.str(r.provider);
    r.status = in.i32();
    in.str(r.error_code);
    r.total_ms = in.f64();
    r.overhead_ms = in.opt<double>([&] { return in.f64(); });
    r.ttft_ms = in.opt<double>([&] { return in.f64(); });
    r.tokens_in = in.opt<std::int64_t>([&] { return in.i64(); });
    r.tokens_out = in.opt<std::int64_t>([&] { return in.i64(); });
    r.tokens_cached = in.opt<std::int64_t>([&] { return in.i64(); });
    r.tokens_reasoning = in.opt<std::int64_t>([&] { return in.i64(); });
    r.cost_usd = in.opt<double>([&] { return in.f64(); });
    r.attempts = in.i32();
    r.stream = in.boolean();
    in.str(r.cache_outcome);
    in.str(r.guardrail_outcome);
    in.opt_str(r.request_body);
    in.opt_str(r.response_body);
    std::int32_t n = in.i32();
    // Each attempt takes at least 40 bytes, so a count larger than what is left is corrupt.
    if (n < 0 || static_cast<std::size_t>(n) > bytes.size() / 40) {
        return fail(ErrorCode::Internal, "access record: bad attempt count");
    }
    r.attempt_details.resize(static_cast<std::size_t>(n));
    for (AttemptRecord& a : r.attempt_details) {
        a.index = in.i32();
        in.str(a.provider);
        in.str(a.target);
        a.status = in.i32();
        in.str(a.error_code);
        a.started_at_us = in.i64();
        a.duration_ms = in.f64();
    }
    if (!in.ok() || !in.at_end()) {
        return fail(ErrorCode::Internal, "access record: truncated or malformed payload");
    }
    return {};
}

Result<AccessRecord> decode(std::string_view bytes) {
    AccessRecord r;
    if (auto st = decode(bytes, r); !st) {
        return fail(st.error());
    }
    return r;
}

}  // namespace sb::telemetry::access
