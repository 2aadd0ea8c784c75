#include "config/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <system_error>
#include <unordered_map>

#include "core/glob.h"

// The YAML loader. yaml-cpp throws; every exception stops at parse() and becomes an Error whose
// message starts with the YAML path at fault. Values that may be secrets (api_key, headers,
// auth_prefix, base_url) are never echoed in a message; other values are, to help the reader.

namespace sb::config {
namespace {

constexpr std::string_view kRootPath = "config";
constexpr std::string_view kOpenAIBaseUrl = "https://api.openai.com/v1";
constexpr std::size_t kKiB = std::size_t{1} << 10;
constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kGiB = std::size_t{1} << 30;
constexpr Millis kMinDuration{1};
constexpr Millis kMaxDuration = std::chrono::hours(24);
// Bounds the recursion of nested `${A:-${B:-...}}` defaults.
constexpr int kMaxExpansionDepth = 8;
constexpr std::size_t kMaxModelNameLength = 256;

// ---------------------------------------------------------------------------------------------
// Messages

Error config_error(const std::string& path, std::string_view reason) {
    Error e;
    e.code = ErrorCode::Internal;
    e.message = fmt::format("{}: {}", path, reason);
    e.param = path;
    return e;
}

tl::unexpected<Error> fail_at(const std::string& path, std::string_view reason) {
    return fail(config_error(path, reason));
}

std::string child(const std::string& path, std::string_view key) {
    std::string out;
    out.reserve(path.size() + 1 + key.size());
    out += path;
    out += '.';
    out += key;
    return out;
}

// A value quoted for a message: control characters escaped, long values cut.
std::string quoted(std::string_view s) {
    constexpr std::size_t kMaxShown = 64;
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > kMaxShown) {
        out += "...";
    }
    out += '"';
    return out;
}

std::string got(std::string_view value) {
    return fmt::format(" (got {})", quoted(value));
}

std::string_view node_kind(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Null:
            return "an empty value";
        case YAML::NodeType::Scalar:
            return "a scalar";
        case YAML::NodeType::Undefined:
            break;
    }
    return "nothing";
}

template <std::size_t N>
tl::unexpected<Error> unknown_key(const std::string& path,
                                  const std::array<std::string_view, N>& expected) {
    return fail_at(path,
                   fmt::format("unknown key (expected one of: {})", fmt::join(expected, ", ")));
}

// ---------------------------------------------------------------------------------------------
// Character classes

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// RFC 9110 §5.6.2 tchar.
bool is_token_char(char c) {
    return is_alpha(c) || is_digit(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char);
}

// RFC 9110 §5.5 field-value: visible characters, spaces, tabs and obs-text. No CR, LF or NUL.
bool is_header_value(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return (c < 0x20 && c != '\t') || c == 0x7f;
    });
}

bool has_space_or_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c <= 0x20 || c == 0x7f;
    });
}

bool iequals(std::string_view a, std::string_view b) {
    auto lower = [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [&](char x, char y) { return lower(x) == lower(y); });
}

bool is_provider_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-';
    });
}

// ---------------------------------------------------------------------------------------------
// ${VAR} expansion

struct Expansion {
    std::string value;
    std::string missing;  // the first variable that was unset, empty if none
};

bool is_var_start(char c) {
    return is_alpha(c) || c == '_';
}
bool is_var_char(char c) {
    return is_var_start(c) || is_digit(c);
}

// Expands `${NAME}`, `${NAME:-default}` (default used when NAME is unset or empty; it may itself
// contain `${...}`) and `$$` (a literal `$`). Any other `$` is kept as is. An unset variable
// expands to nothing and is reported in `missing`. The result is not scanned again, so a value
// containing `$` comes through untouched. Errors never quote `text`: it may hold a secret.
tl::expected<Expansion, std::string> expand(std::string_view text, const EnvLookup& env,
                                            int depth = 0) {
    if (depth > kMaxExpansionDepth) {
        return tl::unexpected<std::string>("${...} defaults are nested too deeply");
    }
    Expansion out;
    out.value.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c != '$' || i + 1 >= text.size() || (text[i + 1] != '$' && text[i + 1] != '{')) {
            out.value += c;
            ++i;
            continue;
        }
        if (text[i + 1] == '$') {
            out.value += '$';
            i += 2;
            continue;
        }
        // `${`
        std::size_t j = i + 2;
        while (j < text.size() && is_var_char(text[j])) {
            ++j;
        }
        const std::string_view name = text.substr(i + 2, j - (i + 2));
        if (j >= text.size()) {
            return tl::unexpected<std::string>(
                "unterminated ${ (expected ${NAME} or ${NAME:-default})");
        }
        if (name.empty() || !is_var_start(name.front())) {
            return tl::unexpected<std::string>(
                "invalid ${...} expression: a variable name is letters, digits and _, not starting "
                "with a digit (write $$ for a literal $)");
        }
        std::optional<std::string> value = env(name);
        if (text[j] == '}') {
            if (value) {
                out.value += *value;
            } else if (out.missing.empty()) {
                out.missing = std::string(name);
            }
            i = j + 1;
            continue;
        }
        if (text.substr(j, 2) != ":-") {
            return tl::unexpected<std::string>(fmt::format(
                "unsupported ${{{}...}} expression (expected ${{NAME}} or ${{NAME:-default}})",
                name));
        }
        // Find the `}` closing this expression, skipping nested `${...}` and `$$`.
        std::size_t k = j + 2;
        int open = 1;
        while (k < text.size()) {
            if (text[k] == '$' && k + 1 < text.size() &&
                (text[k + 1] == '$' || text[k + 1] == '{')) {
                open += text[k + 1] == '{' ? 1 : 0;
                k += 2;
                continue;
            }
            if (text[k] == '}' && --open == 0) {
                break;
            }
            ++k;
        }
        if (k >= text.size()) {
            return tl::unexpected<std::string>(
                fmt::format("unterminated ${{{}:-...}} (expected ${{NAME:-default}})", name));
        }
        if (value && !value->empty()) {
            out.value += *value;
        } else {
            auto fallback = expand(text.substr(j + 2, k - (j + 2)), env, depth + 1);
            if (!fallback) {
                return fallback;
            }
            out.value += fallback->value;
            if (out.missing.empty()) {
                out.missing = std::move(fallback->missing);
            }
        }
        i = k + 1;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Scalar syntaxes

std::optional<long long> parse_integer(std::string_view s) {
    long long v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view s) {
    std::uint64_t v = 0;
    if (!is_all_digits(s)) {
        return std::nullopt;
    }
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

std::optional<bool> parse_bool(std::string_view s) {
    if (s == "true" || s == "True" || s == "TRUE") {
        return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
        return false;
    }
    return std::nullopt;
}

// "10s", "250ms", "2m", "1h", "1m30s", or an integer number of milliseconds.
std::optional<Millis> parse_duration(std::string_view s) {
    if (is_all_digits(s)) {
        const auto ms = parse_unsigned(s);
        if (!ms || *ms > static_cast<std::uint64_t>(std::numeric_limits<Millis::rep>::max())) {
            return std::nullopt;
        }
        return Millis(static_cast<Millis::rep>(*ms));
    }
    struct Unit {
        std::string_view suffix;
        std::uint64_t ms;
    };
    // "ms" before "m" so that the longer suffix wins.
    constexpr std::array<Unit, 4> kUnits{
        {{"ms", 1}, {"s", 1'000}, {"m", 60'000}, {"h", 3'600'000}}};
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<Millis::rep>::max());
    std::uint64_t total = 0;
    std::size_t i = 0;
    if (s.empty()) {
        return std::nullopt;
    }
    while (i < s.size()) {
        std::size_t j = i;
        while (j < s.size() && is_digit(s[j])) {
            ++j;
        }
        const auto number = parse_unsigned(s.substr(i, j - i));
        if (!number) {
            return std::nullopt;
        }
        const Unit* unit = nullptr;
        for (const Unit& u : kUnits) {
            if (s.substr(j, u.suffix.size()) == u.suffix) {
                unit = &u;
                break;
            }
        }
        if (unit == nullptr || *number > kMax / unit->ms || total > kMax - *number * unit->ms) {
            return std::nullopt;
        }
        total += *number * unit->ms;
        i = j + unit->suffix.size();
    }
    return Millis(static_cast<Millis::rep>(total));
}

// An integer number of bytes, or an integer with a unit: "64KiB", "32 MiB", "1GiB", "500KB".
std::optional<std::size_t> parse_size(std::string_view s) {
    std::size_t j = 0;
    while (j < s.size() && is_digit(s[j])) {
        ++j;
    }
    const auto number = parse_unsigned(s.substr(0, j));
    if (!number) {
        return std::nullopt;
    }
    std::string_view suffix = s.substr(j);
    if (!suffix.empty() && suffix.front() == ' ') {
        suffix.remove_prefix(1);
        if (suffix.empty()) {
            return std::nullopt;
        }
    }
    struct Unit {
        std::string_view suffix;
        std::uint64_t bytes;
    };
    constexpr std::array<Unit, 8> kUnits{{{"", 1},
                                          {"B", 1},
                                          {"KiB", kKiB},
                                          {"MiB", kMiB},
                                          {"GiB", kGiB},
                                          {"KB", 1'000},
                                          {"MB", 1'000'000},
                                          {"GB", 1'000'000'000}}};
    for (const Unit& u : kUnits) {
        if (suffix == u.suffix) {
            if (*number > std::numeric_limits<std::size_t>::max() / u.bytes) {
                return std::nullopt;
            }
            return static_cast<std::size_t>(*number * u.bytes);
        }
    }
    return std::nullopt;
}

std::string format_size(std::size_t bytes) {
    if (bytes == 1) {
        return "1 byte";
    }
    if (bytes % kGiB == 0) {
        return fmt::format("{}GiB", bytes / kGiB);
    }
    if (bytes % kMiB == 0) {
        return fmt::format("{}MiB", bytes / kMiB);
    }
    if (bytes % kKiB == 0) {
        return fmt::format("{}KiB", bytes / kKiB);
    }
    return fmt::format("{} bytes", bytes);
}

struct HostPort {
    std::string host;
    std::uint16_t port = 0;
};

bool is_host_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '_';
    });
}

// An IPv6 literal as written inside brackets, with an optional zone (`fe80::1%eth0`).
bool is_ipv6_literal(std::string_view s) {
    const std::size_t percent = s.find('%');
    const std::string_view address = s.substr(0, percent);
    if (address.find(':') == std::string_view::npos ||
        !std::all_of(address.begin(), address.end(),
                     [](char c) { return is_hex(c) || c == ':' || c == '.'; })) {
        return false;
    }
    return percent == std::string_view::npos || is_host_name(s.substr(percent + 1));
}

// "host:port" or "[v6]:port". The host is kept without brackets.
tl::expected<HostPort, std::string> parse_listen(std::string_view s) {
    constexpr std::string_view kExpected = "must be host:port, e.g. 127.0.0.1:8080 or [::1]:8080";
    HostPort out;
    std::string_view port_text;
    if (!s.empty() && s.front() == '[') {
        const std::size_t close = s.find(']');
        if (close == std::string_view::npos) {
            return tl::unexpected(fmt::format("missing ] after the IPv6 address{}", got(s)));
        }
        const std::string_view host = s.substr(1, close - 1);
        if (!is_ipv6_literal(host)) {
            return tl::unexpected(fmt::format("invalid IPv6 address{}", got(s)));
        }
        if (close + 1 >= s.size() || s[close + 1] != ':') {
            return tl::unexpected(fmt::format("{}{}", kExpected, got(s)));
        }
        out.host = std::string(host);
        port_text = s.substr(close + 2);
    } else {
        const std::size_t colon = s.rfind(':');
        if (colon == std::string_view::npos) {
            return tl::unexpected(fmt::format("{}{}", kExpected, got(s)));
        }
        const std::string_view host = s.substr(0, colon);
        if (host.find(':') != std::string_view::npos) {
            return tl::unexpected(
                fmt::format("an IPv6 address must be in brackets, e.g. [::1]:8080{}", got(s)));
        }
        if (host.empty()) {
            return tl::unexpected(fmt::format(
                "host is empty (use 0.0.0.0 to listen on all IPv4 interfaces){}", got(s)));
        }
        if (!is_host_name(host)) {
            return tl::unexpected(fmt::format("invalid host{}", got(s)));
        }
        out.host = std::string(host);
        port_text = s.substr(colon + 1);
    }
    const auto port = parse_unsigned(port_text);
    if (!port || *port > 65535) {
        return tl::unexpected(fmt::format("port must be an integer between 0 and 65535{}", got(s)));
    }
    out.port = static_cast<std::uint16_t>(*port);
    return out;
}

// Checks a base URL and returns it normalised (lower-case scheme, no trailing slash). Reasons
// never quote the URL: it could carry a credential.
tl::expected<std::string, std::string> normalize_base_url(std::string_view url) {
    const std::size_t sep = url.find("://");
    std::string scheme(url.substr(0, sep == std::string_view::npos ? 0 : sep));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    if (sep == std::string_view::npos || (scheme != "http" && scheme != "https")) {
        return tl::unexpected<std::string>("must start with http:// or https://");
    }
    if (has_space_or_control(url)) {
        return tl::unexpected<std::string>("must not contain spaces or control characters");
    }
    if (url.find_first_of("?#") != std::string_view::npos) {
        return tl::unexpected<std::string>("must not have a query string or fragment");
    }
    std::string_view rest = url.substr(sep + 3);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    if (authority.find('@') != std::string_view::npos) {
        return tl::unexpected<std::string>(
            "must not contain credentials (user:password@); use api_key");
    }
    std::string_view host = authority;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos || !is_ipv6_literal(authority.substr(1, close - 1))) {
            return tl::unexpected<std::string>("has an invalid IPv6 host");
        }
        host = authority.substr(0, close + 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return tl::unexpected<std::string>("has an invalid host");
            }
            port = after.substr(1);
            if (port.empty()) {
                return tl::unexpected<std::string>("has an invalid port");
            }
        }
    } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
        if (port.empty()) {
            return tl::unexpected<std::string>("has an invalid port");
        }
    }
    if (host.empty()) {
        return tl::unexpected<std::string>("has no host");
    }
    if (host.front() != '[' && !is_host_name(host)) {
        return tl::unexpected<std::string>("has an invalid host");
    }
    if (!port.empty()) {
        const auto number = parse_unsigned(port);
        if (!number || *number == 0 || *number > 65535) {
            return tl::unexpected<std::string>("has an invalid port");
        }
    }
    while (!rest.empty() && rest.back() == '/') {
        rest.remove_suffix(1);
    }
    return scheme + "://" + std::string(rest);
}

std::optional<ProviderType> parse_provider_type(std::string_view s) {
    if (s == "openai") {
        return ProviderType::OpenAI;
    }
    if (s == "openai-compatible") {
        return ProviderType::OpenAICompatible;
    }
    if (s == "azure") {
        return ProviderType::Azure;
    }
    if (s == "anthropic") {
        return ProviderType::Anthropic;
    }
    if (s == "gemini") {
        return ProviderType::Gemini;
    }
    if (s == "bedrock") {
        return ProviderType::Bedrock;
    }
    if (s == "vertex") {
        return ProviderType::Vertex;
    }
    return std::nullopt;
}

// Headers the gateway computes itself (RFC 9110 §7.6.1 connection-specific and framing fields).
bool is_reserved_header(std::string_view name) {
    constexpr std::array<std::string_view, 9> kReserved{
        "host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
        "te",   "trailer",        "proxy-connection"};
    return std::any_of(kReserved.begin(), kReserved.end(),
                       [&](std::string_view r) { return iequals(r, name); });
}

// ---------------------------------------------------------------------------------------------
// The parser

constexpr std::array<std::string_view, 8> kRootKeys{"server", "providers", "models", "routing",
                                                    "admin",  "telemetry", "auth",   "logging"};
constexpr std::array<std::string_view, 12> kLoggingKeys{
    "enabled",        "directory",      "spool_dir",    "spool_max_bytes",
    "spool_policy",   "fsync_interval", "rotate_bytes", "rotate_age",
    "queue_capacity", "write_through",  "s3",           "bodies"};
constexpr std::array<std::string_view, 9> kLoggingS3Keys{
    "endpoint",          "bucket",        "region",     "prefix", "access_key_id",
    "secret_access_key", "session_token", "path_style", "timeout"};
constexpr std::array<std::string_view, 2> kLoggingBodiesKeys{"enabled", "redact"};
constexpr std::array<std::string_view, 1> kTelemetryKeys{"otlp"};
constexpr std::array<std::string_view, 10> kOtlpKeys{
    "endpoint", "headers",          "timeout",    "batch_size",   "interval",
    "metrics",  "metrics_interval", "queue_size", "service_name", "sample_ratio"};
constexpr std::array<std::string_view, 9> kServerKeys{"listen",
                                                      "workers",
                                                      "max_body_bytes",
                                                      "max_header_bytes",
                                                      "header_timeout",
                                                      "idle_timeout",
                                                      "drain_timeout",
                                                      "tls",
                                                      "stream_ping_interval"};
constexpr std::array<std::string_view, 3> kTlsKeys{"listen", "cert_file", "key_file"};
constexpr std::array<std::string_view, 16> kProviderKeys{
    "type",          "base_url", "api_key",       "auth_header",
    "auth_prefix",   "headers",  "optional",      "timeouts",
    "api_version",   "region",   "access_key_id", "secret_access_key",
    "session_token", "project",  "location",      "credentials_file"};
// Azure OpenAI's GA data-plane API version used when `api_version` is not given.
constexpr std::string_view kAzureApiVersion = "2024-10-21";
constexpr std::array<std::string_view, 4> kTimeoutKeys{"connect", "first_byte", "idle", "total"};
// A model's own keys; a model with one target may also hold that target's keys (shorthand).
constexpr std::array<std::string_view, 15> kModelKeys{
    "provider", "model", "name",     "weight", "priority",  "price", "timeouts", "max_in_flight",
    "targets",  "alias", "strategy", "retry",  "fallbacks", "rules", "probe"};
constexpr std::array<std::string_view, 9> kShorthandKeys{"provider", "model",         "name",
                                                         "weight",   "priority",      "price",
                                                         "timeouts", "max_in_flight", "probe"};
constexpr std::array<std::string_view, 9> kTargetKeys{"provider", "model",         "name",
                                                      "weight",   "priority",      "price",
                                                      "timeouts", "max_in_flight", "probe"};
constexpr std::array<std::string_view, 3> kPriceKeys{"input", "output", "cached_input"};
constexpr std::array<std::string_view, 4> kRetryKeys{"max_attempts", "backoff_base", "backoff_max",
                                                     "total_deadline"};
constexpr std::array<std::string_view, 4> kFallbackKeys{"context_window", "content_policy",
                                                        "rate_limited", "unavailable"};
constexpr std::array<std::string_view, 2> kRuleKeys{"when", "targets"};
constexpr std::array<std::string_view, 3> kWhenKeys{"team", "headers", "metadata"};
constexpr std::array<std::string_view, 5> kRoutingKeys{"retry_budget_ratio", "retry_budget_min",
                                                       "exploration", "seed", "health"};
constexpr std::array<std::string_view, 5> kHealthKeys{
    "consecutive_failures", "base_ejection", "max_ejection", "max_ejected_percent", "probe"};
constexpr std::array<std::string_view, 3> kProbeKeys{"interval", "timeout", "max_tokens"};
// A probe's timeout when none is given: this, or the interval when that is shorter.
constexpr Millis kDefaultProbeTimeout{5'000};
constexpr std::array<std::string_view, 1> kAdminKeys{"listen"};
constexpr std::size_t kDisabledProvider = static_cast<std::size_t>(-1);
constexpr std::array<std::string_view, 9> kAuthKeys{"required", "key_store", "default_max_tokens",
                                                    "keys",     "jwt",       "teams",
                                                    "users",    "roles",     "model_limits"};
constexpr std::array<std::string_view, 4> kKeyStoreKeys{"type", "path", "refresh", "spend_flush"};
constexpr std::array<std::string_view, 4> kLimitKeys{"requests_per_minute", "requests_per_day",
                                                     "tokens_per_minute", "tokens_per_day"};
constexpr std::array<std::string_view, 3> kBudgetKeys{"daily", "weekly", "monthly"};
constexpr std::array<std::string_view, 10> kApiKeyKeys{
    "hash",         "owner",  "team",       "models",  "limits",
    "model_limits", "budget", "expires_at", "revoked", "metadata"};
constexpr std::array<std::string_view, 10> kIssuerKeys{
    "issuer",   "audience",     "algorithm", "public_key", "public_key_file",
    "jwks_url", "jwks_refresh", "jwks_ttl",  "leeway",     "claims"};
constexpr std::array<std::string_view, 3> kClaimKeys{"user", "team", "roles"};
constexpr std::array<std::string_view, 3> kTeamKeys{"models", "limits", "budget"};
constexpr std::array<std::string_view, 5> kUserKeys{"team", "roles", "models", "limits", "budget"};
constexpr std::array<std::string_view, 2> kRoleKeys{"models", "admin"};

// A provider while it is parsed: fields holding an unset variable keep their defaults, and the
// first such field decides whether the provider is disabled or the config rejected.
struct ProviderDraft {
    Provider provider;
    std::string missing_var;              // first unset variable, empty if none
    std::string missing_path;             // YAML path of the value that referenced it
    std::vector<std::string> unresolved;  // paths of values that referenced an unset variable
    bool type_set = false;

    bool is_unresolved(std::string_view path) const {
        return std::find(unresolved.begin(), unresolved.end(), path) != unresolved.end();
    }
};

class Parser {
  public:
    explicit Parser(const EnvLookup& env) : env_(env) {}

    Result<Config> parse_root(const YAML::Node& root) {
        Config config;
        if (root.IsNull()) {
            return config;
        }
        const std::string root_path(kRootPath);
        if (!root.IsMap()) {
            return fail_at(root_path, fmt::format("must be a mapping with server, providers and "
                                                  "models (got {})",
                                                  node_kind(root)));
        }
        // Copies, not assignments: assigning to a YAML::Node rebinds the node it refers to.
        std::optional<YAML::Node> server;
        std::optional<YAML::Node> providers;
        std::optional<YAML::Node> models;
        std::optional<YAML::Node> routing;
        std::optional<YAML::Node> admin;
        std::optional<YAML::Node> telemetry;
        std::optional<YAML::Node> auth;
        std::optional<YAML::Node> logging;
        // Top-level keys are paths of their own: `server`, not `config.server`.
        auto status = for_each_entry(
            root, root_path,
            [&](const std::string& key, const YAML::Node& value, const std::string&) -> Status {
                if (key == "server") {
                    server.emplace(value);
                } else if (key == "providers") {
                    providers.emplace(value);
                } else if (key == "models") {
                    models.emplace(value);
                } else if (key == "routing") {
                    routing.emplace(value);
                } else if (key == "admin") {
                    admin.emplace(value);
                } else if (key == "telemetry") {
                    telemetry.emplace(value);
                } else if (key == "auth") {
                    auth.emplace(value);
                } else if (key == "logging") {
                    logging.emplace(value);
                } else {
                    return unknown_key(key, kRootKeys);
                }
                return {};
            });
        if (!status) {
            return fail(std::move(status).error());
        }
        if (server) {
            if (auto s = parse_server(*server, "server", config.server); !s) {
                return fail(std::move(s).error());
            }
        }
        if (routing) {
            if (auto s = parse_routing(*routing, "routing", config.routing); !s) {
                return fail(std::move(s).error());
            }
        }
        if (admin) {
            if (auto s = parse_admin(*admin, "admin", config.admin); !s) {
                return fail(std::move(s).error());
            }
            if (config.admin.enabled && config.admin.port != 0 &&
                config.admin.port == config.server.port &&
                config.admin.host == config.server.host) {
                return fail_at("admin.listen", "must differ from server.listen");
            }
        }
        if (telemetry) {
            if (auto s = parse_telemetry(*telemetry, "telemetry", config.telemetry); !s) {
                return fail(std::move(s).error());
            }
        }
        if (logging) {
            if (auto s = parse_logging(*logging, "logging", config.logging); !s) {
                return fail(std::move(s).error());
            }
        }
        std::vector<ProviderDraft> drafts;
        if (providers) {
            if (auto s = parse_providers(*providers, "providers", drafts); !s) {
                return fail(std::move(s).error());
            }
        }
        if (models) {
            if (auto s = parse_models(*models, "models", drafts, config.models); !s) {
                return fail(std::move(s).error());
            }
        }
        if (auth) {
            if (auto s = parse_auth(*auth, "auth", config.auth); !s) {
                return fail(std::move(s).error());
            }
        }
        for (ProviderDraft& d : drafts) {
            // A provider with an unset variable is never contacted. When a model needs it and it
            // is not optional, parse_models() has already rejected the config.
            if (!d.missing_var.empty()) {
                d.provider.enabled = false;
                d.provider.disabled_reason =
                    fmt::format("environment variable {} is not set", d.missing_var);
            }
            config.providers.push_back(std::move(d.provider));
        }
        return config;
    }

  private:
    // Calls fn(key, value, key_path) for each entry of a mapping, in file order. Rejects keys
    // that are not strings and keys that appear twice (yaml-cpp keeps both silently).
    template <typename Fn>
    static Status for_each_entry(const YAML::Node& map, const std::string& path, Fn&& fn) {
        std::unordered_map<std::string, int> seen;  // key -> line where it first appeared
        // `*it` yields a value; `it->first` would be a member of a temporary.
        for (const auto& entry : map) {
            const YAML::Node& key = entry.first;
            const int line = key.Mark().line + 1;
            if (!key.IsScalar()) {
                return fail_at(path, fmt::format("keys must be strings (line {})", line));
            }
            const std::string& name = key.Scalar();
            std::string key_path = path == kRootPath ? name : child(path, name);
            const auto [first, inserted] = seen.emplace(name, line);
            if (!inserted) {
                return fail_at(key_path, fmt::format("duplicate key (first at line {}, again at "
                                                     "line {})",
                                                     first->second, line));
            }
            if (auto s = fn(name, entry.second, key_path); !s) {
                return s;
            }
        }
        return {};
    }

    // A mapping, or an empty value (treated as an empty mapping).
    static Status expect_map(const YAML::Node& node, const std::string& path) {
        if (node.IsMap() || node.IsNull()) {
            return {};
        }
        return fail_at(path, fmt::format("must be a mapping (got {})", node_kind(node)));
    }

    // Reads a scalar and expands variables. std::nullopt means "a variable is unset inside a
    // provider": recorded in the draft, and the field keeps its default. `expected` completes
    // "must be ..." when the node is not a scalar.
    Result<std::optional<std::string>> scalar(const YAML::Node& node, const std::string& path,
                                              std::string_view expected) {
        if (!node.IsScalar()) {
            return fail_at(path, fmt::format("{} (got {})", expected, node_kind(node)));
        }
        auto expanded = expand(node.Scalar(), env_);
        if (!expanded) {
            return fail_at(path, expanded.error());
        }
        if (expanded->missing.empty()) {
            return std::optional<std::string>(std::move(expanded->value));
        }
        if (draft_ == nullptr) {
            return fail_at(path,
                           fmt::format("environment variable {} is not set", expanded->missing));
        }
        if (draft_->missing_var.empty()) {
            draft_->missing_var = expanded->missing;
            draft_->missing_path = path;
        }
        draft_->unresolved.push_back(path);
        return std::optional<std::string>();
    }

    Status read_string(const YAML::Node& node, const std::string& path, std::string& out) {
        constexpr std::string_view kExpected = "must be a string (write \"\" for an empty value)";
        auto text = scalar(node, path, kExpected);
        if (!text) {
            return fail(std::move(text).error());
        }
        if (*text) {
            out = std::move(**text);
        }
        return {};
    }

    Status read_int(const YAML::Node& node, const std::string& path, int min, int max, int& out) {
        const std::string expected = fmt::format("must be an integer between {} and {}", min, max);
        auto text = scalar(node, path, expected);
        if (!text) {
            return fail(std::move(text).error());
        }
        if (!*text) {
            return {};
        }
        const auto value = parse_integer(**text);
        if (!value || *value < min || *value > max) {
            return fail_at(path, expected + got(**text));
        }
        out = static_cast<int>(*value);
        return {};
    }

    Status read_bool(const YAML::Node& node, const std::string& path, bool& out) {
        constexpr std::string_view kExpected = "must be true or false";
        auto text = scalar(node, path, kExpected);
        if (!text) {
            return fail(std::move(text).error());
        }
        if (!*text) {
            return {};
        }
        const auto value = parse_bool(**text);
        if (!value) {
            return fail_at(path, std::string(kExpected) + got(**text));
        }
        out = *value;
        return {};
    }

    Status read_duration(const YAML::Node& node, const std::string& path, Millis& out) {
        const std::string expected =
            "must be a duration from 1ms to 24h, e.g. 10s, 250ms, 2m or an integer number of "
            "milliseconds";
        auto text = scalar(node, path, expected);
        if (!text) {
            return fail(std::move(text).error());
        }
        if (!*text) {
            return {};
        }
        const auto value = parse_duration(**text);
        if (!value || *value < kMinDuration || *value > kMaxDuration) {
            return fail_at(path, expected + got(**text));
        }
        out = *value;
        return {};
    }

    Status read_size(const YAML::Node& node, const std::string& path, std::size_t min,
                     std::size_t max, std::size_t& out) {
        const std::string expected =
            fmt::format("must be a size from {} to {}: a number of bytes or e.g. 64KiB, 32MiB",
                        format_size(min), format_size(max));
        auto text = scalar(node, path, expected);
        if (!text) {
            return fail(std::move(text).error());
        }
        if (!*text) {
            return {};
        }
        const auto value = parse_size(**text);
        if (!value || *value < min || *value > max) {
            return fail_at(path, expected + got(**text));
        }
        out = *value;
        return {};
    }

    Status read_listen(const YAML::Node& node, const std::string& path, std::string& host,
                       std::uint16_t& port) {
        auto text = scalar(node, path, "must be host:port, e.g. 127.0.0.1:8080 or [::1]:8080");
        if (!text) {
            return fail(std::move(text).error());
        }
        if (!*text) {
            return {};
        }
        auto listen = parse_listen(**text);
        if (!listen) {
            return fail_at(path, listen.error());
        }
        host = std::move(listen->host);
        port = listen->port;
        return {};
    }

    // -- server --------------------------------------------------------------------------------

    Status parse_server(const YAML::Node& node, const std::string& path, Server& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "listen") {
                    return read_listen(value, kp, out.host, out.port);
                }
                if (key == "workers") {
                    return read_int(value, kp, 0, 256, out.workers);
                }
                if (key == "max_body_bytes") {
                    return read_size(value, kp, 1, kGiB, out.max_body_bytes);
                }
                if (key == "max_header_bytes") {
                    return read_size(value, kp, kKiB, kMiB, out.max_header_bytes);
                }
                if (key == "header_timeout") {
                    return read_duration(value, kp, out.header_timeout);
                }
                if (key == "idle_timeout") {
                    return read_duration(value, kp, out.idle_timeout);
                }
                if (key == "drain_timeout") {
                    return read_duration(value, kp, out.drain_timeout);
                }
                if (key == "stream_ping_interval") {
                    return read_duration(value, kp, out.stream_ping_interval);
                }
                if (key == "tls") {
                    return parse_tls(value, kp, out.tls);
                }
                return unknown_key(kp, kServerKeys);
            });
        if (!status) {
            return status;
        }
        if (out.tls && out.tls->port != 0 && out.tls->port == out.port &&
            out.tls->host == out.host) {
            return fail_at(child(child(path, "tls"), "listen"), "must differ from server.listen");
        }
        return {};
    }

    Status parse_tls(const YAML::Node& node, const std::string& path,
                     std::optional<TlsListener>& out) {
        // `tls:` with nothing under it means no TLS listener.
        if (node.IsNull()) {
            out.reset();
            return {};
        }
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        TlsListener tls;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "listen") {
                    return read_listen(value, kp, tls.host, tls.port);
                }
                if (key == "cert_file") {
                    return read_string(value, kp, tls.cert_file);
                }
                if (key == "key_file") {
                    return read_string(value, kp, tls.key_file);
                }
                return unknown_key(kp, kTlsKeys);
            });
        if (!status) {
            return status;
        }
        if (tls.cert_file.empty()) {
            return fail_at(child(path, "cert_file"),
                           "is required (path to a PEM certificate chain)");
        }
        if (tls.key_file.empty()) {
            return fail_at(child(path, "key_file"), "is required (path to a PEM private key)");
        }
        out = std::move(tls);
        return {};
    }

    // -- telemetry -----------------------------------------------------------------------------

    Status parse_telemetry(const YAML::Node& node, const std::string& path, Telemetry& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "otlp") {
                    return parse_otlp(value, kp, out.otlp);
                }
                return unknown_key(kp, kTelemetryKeys);
            });
    }

    Status parse_otlp(const YAML::Node& node, const std::string& path,
                      std::optional<OtlpExport>& out) {
        // `otlp:` with nothing under it means no export.
        if (node.IsNull()) {
            out.reset();
            return {};
        }
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        OtlpExport otlp;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "endpoint") {
                    std::string text;
                    if (auto s = read_string(value, kp, text); !s) {
                        return s;
                    }
                    auto url = normalize_base_url(text);
                    if (!url) {
                        return fail_at(kp, url.error());
                    }
                    otlp.endpoint = std::move(*url);
                    return {};
                }
                if (key == "headers") {
                    return parse_otlp_headers(value, kp, otlp.headers);
                }
                if (key == "timeout") {
                    return read_duration(value, kp, otlp.timeout);
                }
                if (key == "batch_size") {
                    return read_int(value, kp, 1, 65'536, otlp.batch_size);
                }
                if (key == "interval") {
                    return read_duration(value, kp, otlp.interval);
                }
                if (key == "metrics") {
                    return read_bool(value, kp, otlp.metrics);
                }
                if (key == "metrics_interval") {
                    return read_duration(value, kp, otlp.metrics_interval);
                }
                if (key == "queue_size") {
                    return read_int(value, kp, 1, 1'000'000, otlp.queue_size);
                }
                if (key == "service_name") {
                    if (auto s = read_string(value, kp, otlp.service_name); !s) {
                        return s;
                    }
                    if (otlp.service_name.empty() || has_space_or_control(otlp.service_name)) {
                        return fail_at(kp,
                                       "must be a non-empty name without spaces or control "
                                       "characters" +
                                           got(otlp.service_name));
                    }
                    return {};
                }
                if (key == "sample_ratio") {
                    return read_ratio(value, kp, otlp.sample_ratio);
                }
                return unknown_key(kp, kOtlpKeys);
            });
        if (!status) {
            return status;
        }
        if (otlp.endpoint.empty()) {
            return fail_at(child(path, "endpoint"),
                           "is required (the collector's OTLP/HTTP base URL, e.g. "
                           "http://127.0.0.1:4318)");
        }
        if (otlp.queue_size < otlp.batch_size) {
            return fail_at(child(path, "queue_size"),
                           fmt::format("must be at least batch_size ({})", otlp.batch_size));
        }
        out = std::move(otlp);
        return {};
    }

    // Collector headers (e.g. an API key for a hosted backend): values may be secrets, so they
    // are never echoed in a message.
    Status parse_otlp_headers(const YAML::Node& node, const std::string& path,
                              std::vector<std::pair<std::string, std::string>>& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& name, const YAML::Node& value, const std::string& kp) -> Status {
                if (!is_token(name)) {
                    return fail_at(kp,
                                   "must be a valid HTTP header name (letters, digits and "
                                   "!#$%&'*+-.^_`|~)");
                }
                if (is_reserved_header(name) || iequals(name, "content-type")) {
                    return fail_at(kp, "is set by the exporter itself");
                }
                for (const auto& [existing, unused] : out) {
                    if (iequals(existing, name)) {
                        return fail_at(kp, fmt::format("duplicate header (same as {}; header "
                                                       "names are case-insensitive)",
                                                       quoted(existing)));
                    }
                }
                std::string text;
                if (auto s = read_string(value, kp, text); !s) {
                    return s;
                }
                if (!is_header_value(text)) {
                    return fail_at(kp, "must not contain CR, LF or other control characters");
                }
                out.emplace_back(name, std::move(text));
                return {};
            });
    }

    // A number from 0 to 1 (e.g. 0.25).
    Status read_ratio(const YAML::Node& node, const std::string& path, double& out) {
        constexpr std::string_view kExpected = "must be a number from 0 to 1, e.g. 0.25";
        auto text = scalar(node, path, kExpected);
        if (!text) {
            return fail(std::move(text).error());
        }
        if (!*text) {
            return {};
        }
        const std::string& t = **text;
        double value = 0;
        auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
        if (t.empty() || ec != std::errc{} || ptr != t.data() + t.size() || !(value >= 0) ||
            value > 1) {
            return fail_at(path, std::string(kExpected) + got(t));
        }
        out = value;
        return {};
    }

    // -- logging -------------------------------------------------------------------------------

    Status parse_logging(const YAML::Node& node, const std::string& path, Logging& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "enabled") {
                    return read_bool(value, kp, out.enabled);
                }
                if (key == "directory") {
                    return read_string(value, kp, out.directory);
                }
                if (key == "spool_dir") {
                    return read_string(value, kp, out.spool_dir);
                }
                if (key == "spool_max_bytes") {
                    return read_size(value, kp, kMiB, kGiB * 1024, out.spool_max_bytes);
                }
                if (key == "spool_policy") {
                    std::string policy;
                    if (auto s = read_string(value, kp, policy); !s) {
                        return s;
                    }
                    if (policy == "refuse") {
                        out.spool_policy = LogSpoolPolicy::Refuse;
                    } else if (policy == "drop_oldest") {
                        out.spool_policy = LogSpoolPolicy::DropOldest;
                    } else if (policy == "drop_new") {
                        out.spool_policy = LogSpoolPolicy::DropNew;
                    } else {
                        return fail_at(
                            kp, "must be one of refuse, drop_oldest, drop_new" + got(policy));
                    }
                    return {};
                }
                if (key == "fsync_interval") {
                    return read_duration(value, kp, out.fsync_interval);
                }
                if (key == "rotate_bytes") {
                    return read_size(value, kp, kKiB, kGiB, out.rotate_bytes);
                }
                if (key == "rotate_age") {
                    return read_duration(value, kp, out.rotate_age);
                }
                if (key == "queue_capacity") {
                    return read_int(value, kp, 16, 16 << 20, out.queue_capacity);
                }
                if (key == "write_through") {
                    return read_bool(value, kp, out.write_through);
                }
                if (key == "s3") {
                    return parse_logging_s3(value, kp, out.s3);
                }
                if (key == "bodies") {
                    return parse_logging_bodies(value, kp, out.bodies);
                }
                return unknown_key(kp, kLoggingKeys);
            });
        if (!status) {
            return status;
        }
        if (out.enabled) {
            if (out.spool_dir.empty()) {
                return fail_at(child(path, "spool_dir"), "is required when logging is enabled");
            }
            if (out.directory.empty() && !out.s3) {
                return fail_at(child(path, "directory"),
                               "is empty and there is no s3 section: records would go nowhere");
            }
        }
        return {};
    }

    Status parse_logging_s3(const YAML::Node& node, const std::string& path,
                            std::optional<LoggingS3>& out) {
        if (node.IsNull()) {
            out.reset();
            return {};
        }
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        LoggingS3 s3;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "endpoint") {
                    return read_string(value, kp, s3.endpoint);
                }
                if (key == "bucket") {
                    return read_string(value, kp, s3.bucket);
                }
                if (key == "region") {
                    return read_string(value, kp, s3.region);
                }
                if (key == "prefix") {
                    return read_string(value, kp, s3.prefix);
                }
                // Credentials are secrets: their values are never echoed.
                if (key == "access_key_id") {
                    return read_string(value, kp, s3.access_key_id);
                }
                if (key == "secret_access_key") {
                    return read_string(value, kp, s3.secret_access_key);
                }
                if (key == "session_token") {
                    return read_string(value, kp, s3.session_token);
                }
                if (key == "path_style") {
                    return read_bool(value, kp, s3.path_style);
                }
                if (key == "timeout") {
                    return read_duration(value, kp, s3.timeout);
                }
                return unknown_key(kp, kLoggingS3Keys);
            });
        if (!status) {
            return status;
        }
        if (!s3.endpoint.starts_with("http://") && !s3.endpoint.starts_with("https://")) {
            return fail_at(child(path, "endpoint"),
                           "must be an http:// or https:// URL, e.g. https://s3.us-east-1."
                           "amazonaws.com");
        }
        if (s3.bucket.empty()) {
            return fail_at(child(path, "bucket"), "is required");
        }
        if (s3.region.empty()) {
            return fail_at(child(path, "region"), "must not be empty");
        }
        if (s3.access_key_id.empty() || s3.secret_access_key.empty()) {
            return fail_at(
                child(path, s3.access_key_id.empty() ? "access_key_id" : "secret_access_key"),
                "is required (S3 requests are signed with SigV4)");
        }
        if (!s3.prefix.empty() && s3.prefix.back() != '/') {
            s3.prefix += '/';
        }
        out = std::move(s3);
        return {};
    }

    Status parse_logging_bodies(const YAML::Node& node, const std::string& path,
                                LoggingBodies& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "enabled") {
                    return read_bool(value, kp, out.enabled);
                }
                if (key == "redact") {
                    if (!value.IsSequence()) {
                        return fail_at(kp, fmt::format("must be a list of RE2 patterns (got {})",
                                                       node_kind(value)));
                    }
                    out.redact.clear();
                    for (std::size_t i = 0; i < value.size(); ++i) {
                        const std::string ip = fmt::format("{}[{}]", kp, i);
                        std::string pattern;
                        if (auto s = read_string(value[i], ip, pattern); !s) {
                            return s;
                        }
                        RE2::Options opts;
                        opts.set_log_errors(false);
                        RE2 re(pattern, opts);
                        if (!re.ok()) {
                            return fail_at(ip, "is not a valid RE2 pattern: " + re.error());
                        }
                        out.redact.push_back(std::move(pattern));
                    }
                    return {};
                }
                return unknown_key(kp, kLoggingBodiesKeys);
            });
    }

    // -- providers -----------------------------------------------------------------------------

    Status parse_providers(const YAML::Node& node, const std::string& path,
                           std::vector<ProviderDraft>& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& name, const YAML::Node& value, const std::string& kp) -> Status {
                if (!is_provider_name(name)) {
                    return fail_at(kp, fmt::format("invalid provider name {} (use letters, digits, "
                                                   "_, . and -)",
                                                   quoted(name)));
                }
                ProviderDraft draft;
                draft.provider.name = name;
                draft_ = &draft;
                auto status = parse_provider(value, kp, draft);
                draft_ = nullptr;
                if (!status) {
                    return status;
                }
                out.push_back(std::move(draft));
                return {};
            });
    }

    Status parse_provider(const YAML::Node& node, const std::string& path, ProviderDraft& d) {
        if (!node.IsMap()) {
            return fail_at(path, fmt::format("must be a mapping with at least `type` (got {})",
                                             node_kind(node)));
        }
        Provider& p = d.provider;
        std::optional<std::string> base_url;
        bool auth_header_set = false;
        bool auth_prefix_set = false;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "type") {
                    return read_type(value, kp, d);
                }
                if (key == "base_url") {
                    std::string text;
                    if (auto s = read_string(value, kp, text); !s) {
                        return s;
                    }
                    if (d.is_unresolved(kp)) {
                        return {};
                    }
                    auto url = normalize_base_url(text);
                    if (!url) {
                        return fail_at(kp, url.error());
                    }
                    base_url = std::move(*url);
                    return {};
                }
                if (key == "api_key") {
                    if (auto s = read_string(value, kp, p.api_key); !s) {
                        return s;
                    }
                    if (!is_header_value(p.api_key)) {
                        return fail_at(kp, "must not contain CR, LF or other control characters");
                    }
                    return {};
                }
                if (key == "auth_header") {
                    auth_header_set = true;
                    if (auto s = read_string(value, kp, p.auth_header); !s) {
                        return s;
                    }
                    if (!is_token(p.auth_header)) {
                        return fail_at(kp, fmt::format("must be a valid HTTP header name{}",
                                                       got(p.auth_header)));
                    }
                    if (is_reserved_header(p.auth_header)) {
                        return fail_at(kp, fmt::format("{} is set by the gateway itself",
                                                       quoted(p.auth_header)));
                    }
                    return {};
                }
                if (key == "auth_prefix") {
                    auth_prefix_set = true;
                    if (auto s = read_string(value, kp, p.auth_prefix); !s) {
                        return s;
                    }
                    if (!is_header_value(p.auth_prefix)) {
                        return fail_at(kp, "must not contain CR, LF or other control characters");
                    }
                    return {};
                }
                if (key == "headers") {
                    return parse_headers(value, kp, p.headers);
                }
                if (key == "optional") {
                    return read_bool(value, kp, p.optional);
                }
                if (key == "timeouts") {
                    return parse_timeouts(value, kp, p.timeouts);
                }
                if (key == "region") {
                    if (auto s = read_string(value, kp, p.region); !s) {
                        return s;
                    }
                    if (p.region.empty() ||
                        !std::all_of(p.region.begin(), p.region.end(), [](char c) {
                            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                        })) {
                        return fail_at(kp,
                                       fmt::format("must look like us-east-1{}", got(p.region)));
                    }
                    return {};
                }
                // AWS credentials are secrets: their values are never echoed.
                if (key == "access_key_id") {
                    return read_string(value, kp, p.access_key_id);
                }
                if (key == "secret_access_key") {
                    return read_string(value, kp, p.secret_access_key);
                }
                if (key == "session_token") {
                    return read_string(value, kp, p.session_token);
                }
                // -- vertex --
                if (key == "project") {
                    if (auto s = read_string(value, kp, p.project); !s) {
                        return s;
                    }
                    if (p.project.empty() ||
                        !std::all_of(p.project.begin(), p.project.end(), [](char c) {
                            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                                   c == '.' || c == ':';
                        })) {
                        return fail_at(kp, fmt::format("must be a Google Cloud project id like "
                                                       "my-project-123{}",
                                                       got(p.project)));
                    }
                    return {};
                }
                if (key == "location") {
                    if (auto s = read_string(value, kp, p.location); !s) {
                        return s;
                    }
                    if (p.location.empty() ||
                        !std::all_of(p.location.begin(), p.location.end(), [](char c) {
                            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                        })) {
                        return fail_at(kp, fmt::format("must look like us-central1 or global{}",
                                                       got(p.location)));
                    }
                    return {};
                }
                if (key == "credentials_file") {
                    // Read (and checked) when the gateway starts: config validation does no I/O.
                    return read_string(value, kp, p.credentials_file);
                }
                if (key == "api_version") {
                    if (auto s = read_string(value, kp, p.api_version); !s) {
                        return s;
                    }
                    if (p.api_version.empty() ||
                        !std::all_of(p.api_version.begin(), p.api_version.end(), [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                   c == '.' || c == '_';
                        })) {
                        return fail_at(
                            kp, fmt::format("must look like 2024-10-21{}", got(p.api_version)));
                    }
                    return {};
                }
                return unknown_key(kp, kProviderKeys);
            });
        if (!status) {
            return status;
        }
        // A value holding an unset variable was skipped; checks that depend on it are skipped
        // too, since the provider is then either disabled or the config is rejected.
        if (!d.type_set) {
            if (d.is_unresolved(child(path, "type"))) {
                return {};
            }
            return fail_at(
                child(path, "type"),
                "is required (openai, openai-compatible, azure, anthropic, gemini, bedrock or "
                "vertex)");
        }
        if (p.type == ProviderType::Azure) {
            // Azure OpenAI authenticates with an `api-key` header (an Entra token instead goes
            // in `Authorization: Bearer`, set with auth_header/auth_prefix).
            if (!auth_header_set) {
                p.auth_header = "api-key";
            }
            if (!auth_prefix_set) {
                p.auth_prefix = "";
            }
            if (p.api_version.empty()) {
                p.api_version = std::string(kAzureApiVersion);
            }
        } else if (!p.api_version.empty()) {
            return fail_at(child(path, "api_version"), "is only for type azure");
        }
        const bool aws_fields = !p.region.empty() || !p.access_key_id.empty() ||
                                !p.secret_access_key.empty() || !p.session_token.empty();
        if (p.type == ProviderType::Bedrock) {
            if (p.region.empty() && !d.is_unresolved(child(path, "region"))) {
                return fail_at(child(path, "region"), "is required for type bedrock");
            }
            if (p.access_key_id.empty() != p.secret_access_key.empty() &&
                !d.is_unresolved(child(path, "access_key_id")) &&
                !d.is_unresolved(child(path, "secret_access_key"))) {
                return fail_at(
                    child(path, p.access_key_id.empty() ? "access_key_id" : "secret_access_key"),
                    "access_key_id and secret_access_key go together");
            }
        } else if (aws_fields) {
            return fail_at(path,
                           "region, access_key_id, secret_access_key and session_token are "
                           "only for type bedrock");
        }
        const bool vertex_fields =
            !p.project.empty() || !p.location.empty() || !p.credentials_file.empty();
        if (p.type == ProviderType::Vertex) {
            for (const std::string_view field : {"project", "location"}) {
                const std::string& v = field == "project" ? p.project : p.location;
                if (v.empty() && !d.is_unresolved(child(path, std::string(field)))) {
                    return fail_at(child(path, std::string(field)), "is required for type vertex");
                }
            }
            if (p.credentials_file.empty() && p.api_key.empty() &&
                !d.is_unresolved(child(path, "credentials_file")) &&
                !d.is_unresolved(child(path, "api_key"))) {
                return fail_at(child(path, "credentials_file"),
                               "is required for type vertex (or api_key: a static OAuth access "
                               "token)");
            }
            if (!p.credentials_file.empty() && !p.api_key.empty()) {
                return fail_at(child(path, "api_key"),
                               "cannot be combined with credentials_file on type vertex: give one "
                               "or the other");
            }
        } else if (vertex_fields) {
            return fail_at(path, "project, location and credentials_file are only for type vertex");
        }
        if (base_url) {
            p.base_url = std::move(*base_url);
        } else if (p.type == ProviderType::OpenAI) {
            p.base_url = std::string(kOpenAIBaseUrl);
        } else if (p.type == ProviderType::Anthropic) {
            p.base_url = "https://api.anthropic.com/v1";
        } else if (p.type == ProviderType::Gemini) {
            p.base_url = "https://generativelanguage.googleapis.com/v1beta";
        } else if (p.type == ProviderType::Bedrock) {
            // Empty: the adapter addresses https://bedrock-runtime.{region}.amazonaws.com.
        } else if (p.type == ProviderType::Vertex) {
            // Vertex AI's regional endpoint; the global location has no region prefix.
            p.base_url = p.location == "global"
                             ? std::string("https://aiplatform.googleapis.com")
                             : fmt::format("https://{}-aiplatform.googleapis.com", p.location);
        } else if (!d.is_unresolved(child(path, "base_url"))) {
            return fail_at(child(path, "base_url"),
                           fmt::format("is required for type {}", to_string(p.type)));
        }
        const bool sends_key = !p.api_key.empty() || d.is_unresolved(child(path, "api_key"));
        for (const auto& [name, value] : p.headers) {
            if (sends_key && iequals(name, p.auth_header)) {
                return fail_at(child(child(path, "headers"), name),
                               "conflicts with auth_header, which carries api_key");
            }
        }
        return {};
    }

    Status read_type(const YAML::Node& node, const std::string& path, ProviderDraft& d) {
        auto text = scalar(node, path, "must be a provider type name");
        if (!text) {
            return fail(std::move(text).error());
        }
        if (!*text) {
            return {};
        }
        const auto type = parse_provider_type(**text);
        if (!type) {
            return fail_at(path, fmt::format("unknown provider type {} (expected openai, "
                                             "openai-compatible, azure, anthropic, gemini, "
                                             "bedrock, vertex)",
                                             quoted(**text)));
        }
        d.provider.type = *type;
        d.type_set = true;
        return {};
    }

    Status parse_headers(const YAML::Node& node, const std::string& path,
                         std::vector<std::pair<std::string, std::string>>& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& name, const YAML::Node& value, const std::string& kp) -> Status {
                if (!is_token(name)) {
                    return fail_at(kp,
                                   "must be a valid HTTP header name (letters, digits and "
                                   "!#$%&'*+-.^_`|~)");
                }
                if (is_reserved_header(name)) {
                    return fail_at(kp, "is set by the gateway itself");
                }
                for (const auto& [existing, unused] : out) {
                    if (iequals(existing, name)) {
                        return fail_at(kp, fmt::format("duplicate header (same as {}; header "
                                                       "names are case-insensitive)",
                                                       quoted(existing)));
                    }
                }
                std::string text;
                if (auto s = read_string(value, kp, text); !s) {
                    return s;
                }
                if (draft_->is_unresolved(kp)) {
                    return {};
                }
                if (!is_header_value(text)) {
                    return fail_at(kp, "must not contain CR, LF or other control characters");
                }
                out.emplace_back(name, std::move(text));
                return {};
            });
    }

    Status parse_timeouts(const YAML::Node& node, const std::string& path, Timeouts& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "connect") {
                    return read_duration(value, kp, out.connect);
                }
                if (key == "first_byte") {
                    return read_duration(value, kp, out.first_byte);
                }
                if (key == "idle") {
                    return read_duration(value, kp, out.idle);
                }
                if (key == "total") {
                    return read_duration(value, kp, out.total);
                }
                return unknown_key(kp, kTimeoutKeys);
            });
    }

    // -- models --------------------------------------------------------------------------------

    Status parse_models(const YAML::Node& node, const std::string& path,
                        const std::vector<ProviderDraft>& drafts, std::vector<Model>& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        std::vector<std::string> paths;  // YAML path of each model in `out`
        auto status = for_each_entry(
            node, path,
            [&](const std::string& name, const YAML::Node& value, const std::string& kp) -> Status {
                if (name.empty() || name.size() > kMaxModelNameLength ||
                    has_space_or_control(name)) {
                    return fail_at(kp, fmt::format("invalid model name {} (1 to {} characters, no "
                                                   "spaces or control characters)",
                                                   quoted(name), kMaxModelNameLength));
                }
                auto model = parse_model(name, value, kp, drafts);
                if (!model) {
                    return fail(std::move(model).error());
                }
                if (model->alias_of.empty() && model->targets.empty()) {
                    return {};  // Every provider it uses is optional and disabled: not served.
                }
                out.push_back(std::move(*model));
                paths.push_back(kp);
                return {};
            });
        if (!status) {
            return status;
        }
        return check_model_references(out, paths);
    }

    // Aliases and fallbacks must name a model defined by exact name (a pattern, or a name only a
    // pattern matches, would be ambiguous); aliases must not form a cycle.
    static Status check_model_references(const std::vector<Model>& models,
                                         const std::vector<std::string>& paths) {
        auto find_exact = [&](std::string_view name) -> const Model* {
            for (const Model& m : models) {
                if (!m.glob && m.name == name) {
                    return &m;
                }
            }
            return nullptr;
        };
        auto describe_missing = [&](std::string_view name) {
            for (const Model& m : models) {
                if (m.glob && glob_match(m.name, name)) {
                    return fmt::format(
                        "{} is only matched by the pattern {}; name a model "
                        "defined by its exact name",
                        quoted(name), quoted(m.name));
                }
            }
            return fmt::format(
                "unknown model {} (not defined in models, or all its providers "
                "are disabled)",
                quoted(name));
        };
        for (std::size_t i = 0; i < models.size(); ++i) {
            const Model& m = models[i];
            if (!m.alias_of.empty()) {
                const Model* target = find_exact(m.alias_of);
                if (target == nullptr) {
                    return fail_at(child(paths[i], "alias"), describe_missing(m.alias_of));
                }
                // Follow the chain; a cycle comes back to a model already seen.
                std::vector<const Model*> seen{&m};
                while (target != nullptr && !target->alias_of.empty()) {
                    if (std::find(seen.begin(), seen.end(), target) != seen.end()) {
                        return fail_at(
                            child(paths[i], "alias"),
                            fmt::format("aliases form a cycle through {}", quoted(target->name)));
                    }
                    seen.push_back(target);
                    target = find_exact(target->alias_of);
                }
                if (target == nullptr) {
                    return fail_at(child(paths[i], "alias"),
                                   fmt::format("the alias chain from {} ends at a model that "
                                               "is not defined",
                                               quoted(m.name)));
                }
            }
            for (const auto& [on, name] : m.fallbacks) {
                const std::string kp = child(child(paths[i], "fallbacks"), to_string(on));
                if (find_exact(name) == nullptr) {
                    return fail_at(kp, describe_missing(name));
                }
                if (name == m.name) {
                    return fail_at(kp, "must name another model");
                }
            }
        }
        return {};
    }

    Result<Model> parse_model(const std::string& name, const YAML::Node& node,
                              const std::string& path, const std::vector<ProviderDraft>& drafts) {
        if (!node.IsMap()) {
            return fail_at(path, fmt::format("must be a mapping with `provider` (one target), "
                                             "`targets` or `alias` (got {})",
                                             node_kind(node)));
        }
        Model m;
        m.name = name;
        m.glob = name.find_first_of("*?") != std::string::npos;
        std::optional<YAML::Node> targets;
        std::optional<YAML::Node> rules;
        // Shorthand: the model's own target keys describe its one target.
        YAML::Node shorthand(YAML::NodeType::Map);
        bool has_shorthand = false;
        bool strategy_set = false;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (std::find(kShorthandKeys.begin(), kShorthandKeys.end(), key) !=
                    kShorthandKeys.end()) {
                    shorthand[key] = value;
                    has_shorthand = true;
                    return {};
                }
                if (key == "targets") {
                    targets.emplace(value);
                    return {};
                }
                if (key == "alias") {
                    if (auto s = read_string(value, kp, m.alias_of); !s) {
                        return s;
                    }
                    if (m.alias_of.empty()) {
                        return fail_at(kp, "must name a model");
                    }
                    return {};
                }
                if (key == "strategy") {
                    strategy_set = true;
                    return read_strategy(value, kp, m.strategy);
                }
                if (key == "retry") {
                    return parse_retry(value, kp, m.retry);
                }
                if (key == "fallbacks") {
                    return parse_fallbacks(value, kp, m.fallbacks);
                }
                if (key == "rules") {
                    rules.emplace(value);
                    return {};
                }
                return unknown_key(kp, kModelKeys);
            });
        if (!status) {
            return fail(std::move(status).error());
        }
        const int forms =
            (has_shorthand ? 1 : 0) + (targets ? 1 : 0) + (m.alias_of.empty() ? 0 : 1);
        if (forms != 1) {
            return fail_at(path,
                           "needs exactly one of `provider` (one target), `targets` (a list) "
                           "or `alias` (another model's name)");
        }
        if (!m.alias_of.empty()) {
            if (m.glob) {
                return fail_at(child(path, "alias"), "a pattern cannot be an alias");
            }
            if (strategy_set || rules || !m.fallbacks.empty()) {
                return fail_at(path,
                               "an alias takes its routing from the model it names; remove "
                               "strategy, retry, fallbacks and rules");
            }
            return m;
        }
        bool any_enabled = false;
        auto add_target = [&](const YAML::Node& t, const std::string& kp) -> Status {
            auto target = parse_target(t, kp, m, drafts);
            if (!target) {
                return fail(std::move(target).error());
            }
            for (const Target& other : m.targets) {
                if (other.name == target->name) {
                    return fail_at(kp, fmt::format("duplicate target name {} (give each target "
                                                   "a distinct `name`)",
                                                   quoted(target->name)));
                }
            }
            if (target->provider_index != kDisabledProvider) {
                any_enabled = true;
            }
            m.targets.push_back(std::move(*target));
            return {};
        };
        if (has_shorthand) {
            if (auto s = add_target(shorthand, path); !s) {
                return fail(std::move(s).error());
            }
        } else {
            const std::string tp = child(path, "targets");
            if (!targets->IsSequence() || targets->size() == 0) {
                return fail_at(tp, fmt::format("must be a non-empty list of targets (got {})",
                                               node_kind(*targets)));
            }
            for (std::size_t i = 0; i < targets->size(); ++i) {
                if (auto s = add_target((*targets)[i], fmt::format("{}[{}]", tp, i)); !s) {
                    return fail(std::move(s).error());
                }
            }
        }
        if (rules) {
            if (auto s = parse_rules(*rules, child(path, "rules"), m); !s) {
                return fail(std::move(s).error());
            }
        }
        // Targets of disabled (optional) providers are left out; rules may still name them.
        std::erase_if(m.targets,
                      [](const Target& t) { return t.provider_index == kDisabledProvider; });
        if (!any_enabled) {
            m.targets.clear();
        }
        return m;
    }

    Result<Target> parse_target(const YAML::Node& node, const std::string& path, const Model& m,
                                const std::vector<ProviderDraft>& drafts) {
        if (!node.IsMap()) {
            return fail_at(
                path, fmt::format("must be a mapping with `provider` (got {})", node_kind(node)));
        }
        Target t;
        bool has_provider = false;
        bool has_model = false;
        std::optional<YAML::Node> timeouts;
        std::optional<std::string> timeouts_path;
        bool probe_set = false;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "provider") {
                    has_provider = true;
                    return read_string(value, kp, t.provider);
                }
                if (key == "model") {
                    has_model = true;
                    if (auto s = read_string(value, kp, t.upstream_model); !s) {
                        return s;
                    }
                    if (t.upstream_model.empty() || !is_header_value(t.upstream_model)) {
                        return fail_at(kp, fmt::format("must be a non-empty model name without "
                                                       "control characters{}",
                                                       got(t.upstream_model)));
                    }
                    return {};
                }
                if (key == "name") {
                    if (auto s = read_string(value, kp, t.name); !s) {
                        return s;
                    }
                    if (t.name.empty() || has_space_or_control(t.name)) {
                        return fail_at(kp, "must be a non-empty name without spaces");
                    }
                    return {};
                }
                if (key == "weight") {
                    int w = 1;
                    if (auto s = read_int(value, kp, 0, 1'000'000, w); !s) {
                        return s;
                    }
                    t.weight = static_cast<std::uint32_t>(w);
                    return {};
                }
                if (key == "priority") {
                    return read_int(value, kp, -1000, 1000, t.priority);
                }
                if (key == "max_in_flight") {
                    int n = 0;
                    if (auto s = read_int(value, kp, 0, 1'000'000, n); !s) {
                        return s;
                    }
                    t.max_in_flight = static_cast<std::uint32_t>(n);
                    return {};
                }
                if (key == "price") {
                    t.price.emplace();
                    return parse_price(value, kp, *t.price);
                }
                if (key == "timeouts") {
                    timeouts.emplace(value);
                    timeouts_path = kp;
                    return {};
                }
                if (key == "probe") {
                    probe_set = true;
                    return parse_probe(value, kp, default_probe_, t.probe);
                }
                return unknown_key(kp, kTargetKeys);
            });
        if (!status) {
            return fail(std::move(status).error());
        }
        if (!has_provider) {
            return fail_at(child(path, "provider"), "is required");
        }
        const auto draft = std::find_if(drafts.begin(), drafts.end(), [&](const ProviderDraft& d) {
            return d.provider.name == t.provider;
        });
        if (draft == drafts.end()) {
            std::vector<std::string_view> names;
            for (const ProviderDraft& d : drafts) {
                names.push_back(d.provider.name);
            }
            return fail_at(
                child(path, "provider"),
                fmt::format("unknown provider {} (defined: {})", quoted(t.provider),
                            names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
        }
        if (!has_model && !m.glob) {
            t.upstream_model = m.name;  // a pattern's targets get the name the client sent
        }
        if (!probe_set) {
            t.probe = default_probe_;  // routing is parsed before models
        }
        if (t.name.empty()) {
            t.name = fmt::format("{}/{}", t.provider,
                                 t.upstream_model.empty() ? std::string("*") : t.upstream_model);
        }
        t.timeouts = draft->provider.timeouts;
        if (timeouts) {
            if (auto s = parse_timeouts(*timeouts, *timeouts_path, t.timeouts); !s) {
                return fail(std::move(s).error());
            }
        }
        t.provider_index = static_cast<std::size_t>(draft - drafts.begin());
        if (!draft->missing_var.empty()) {
            if (!draft->provider.optional) {
                return fail_at(
                    draft->missing_path,
                    fmt::format("environment variable {} is not set (provider {} is "
                                "used by model {}; set the variable or mark the "
                                "provider optional: true)",
                                draft->missing_var, quoted(draft->provider.name), quoted(m.name)));
            }
            t.provider_index = kDisabledProvider;
        }
        return t;
    }

    Status parse_price(const YAML::Node& node, const std::string& path, Price& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        bool cached_set = false;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "input") {
                    return read_price(value, kp, out.input);
                }
                if (key == "output") {
                    return read_price(value, kp, out.output);
                }
                if (key == "cached_input") {
                    cached_set = true;
                    return read_price(value, kp, out.cached_input);
                }
                return unknown_key(kp, kPriceKeys);
            });
        if (status && !cached_set) {
            out.cached_input = out.input;
        }
        return status;
    }

    Status read_price(const YAML::Node& node, const std::string& path, double& out) {
        return read_number(node, path, 0.0, 1e6,
                           "must be a price per million tokens, a number from 0 to 1000000", out);
    }

    Status read_number(const YAML::Node& node, const std::string& path, double min, double max,
                       std::string_view expected, double& out) {
        auto text = scalar(node, path, expected);
        if (!text) {
            return fail(std::move(text).error());
        }
        if (!*text) {
            return {};
        }
        double v = 0;
        const std::string& str = **text;
        const auto [end, ec] = std::from_chars(str.data(), str.data() + str.size(), v);
        if (str.empty() || ec != std::errc() || end != str.data() + str.size() || !(v >= min) ||
            !(v <= max)) {
            return fail_at(path, std::string(expected) + got(str));
        }
        out = v;
        return {};
    }

    Status read_strategy(const YAML::Node& node, const std::string& path, Strategy& out) {
        std::string text;
        if (auto s = read_string(node, path, text); !s) {
            return s;
        }
        for (Strategy st : {Strategy::Weighted, Strategy::Priority, Strategy::LeastLatency,
                            Strategy::LowestCost}) {
            if (text == to_string(st)) {
                out = st;
                return {};
            }
        }
        return fail_at(path,
                       "must be one of weighted, priority, least_latency, lowest_cost" + got(text));
    }

    Status parse_retry(const YAML::Node& node, const std::string& path, RetryPolicy& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "max_attempts") {
                    return read_int(value, kp, 1, 10, out.max_attempts);
                }
                if (key == "backoff_base") {
                    return read_duration(value, kp, out.backoff_base);
                }
                if (key == "backoff_max") {
                    return read_duration(value, kp, out.backoff_max);
                }
                if (key == "total_deadline") {
                    return read_duration(value, kp, out.total_deadline);
                }
                return unknown_key(kp, kRetryKeys);
            });
        if (status && out.backoff_max < out.backoff_base) {
            return fail_at(child(path, "backoff_max"), "must not be less than backoff_base");
        }
        return status;
    }

    Status parse_fallbacks(const YAML::Node& node, const std::string& path,
                           std::vector<std::pair<FallbackOn, std::string>>& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                for (FallbackOn on : {FallbackOn::ContextWindow, FallbackOn::ContentPolicy,
                                      FallbackOn::RateLimited, FallbackOn::Unavailable}) {
                    if (key == to_string(on)) {
                        std::string model;
                        if (auto s = read_string(value, kp, model); !s) {
                            return s;
                        }
                        out.emplace_back(on, std::move(model));
                        return {};
                    }
                }
                return unknown_key(kp, kFallbackKeys);
            });
    }

    Status parse_rules(const YAML::Node& node, const std::string& path, Model& m) {
        if (!node.IsSequence()) {
            return fail_at(path, fmt::format("must be a list of rules (got {})", node_kind(node)));
        }
        for (std::size_t i = 0; i < node.size(); ++i) {
            const std::string rp = fmt::format("{}[{}]", path, i);
            const YAML::Node& r = node[i];
            if (!r.IsMap()) {
                return fail_at(rp, fmt::format("must be a mapping with `when` and `targets` "
                                               "(got {})",
                                               node_kind(r)));
            }
            Rule rule;
            bool has_when = false;
            auto status = for_each_entry(
                r, rp,
                [&](const std::string& key, const YAML::Node& value,
                    const std::string& kp) -> Status {
                    if (key == "when") {
                        has_when = true;
                        return parse_rule_when(value, kp, rule);
                    }
                    if (key == "targets") {
                        if (!value.IsSequence() || value.size() == 0) {
                            return fail_at(kp, "must be a non-empty list of target names");
                        }
                        for (std::size_t j = 0; j < value.size(); ++j) {
                            const std::string tp = fmt::format("{}[{}]", kp, j);
                            std::string name;
                            if (auto s = read_string(value[j], tp, name); !s) {
                                return s;
                            }
                            const bool known =
                                std::any_of(m.targets.begin(), m.targets.end(),
                                            [&](const Target& t) { return t.name == name; });
                            if (!known) {
                                std::vector<std::string_view> names;
                                for (const Target& t : m.targets) {
                                    names.push_back(t.name);
                                }
                                return fail_at(tp,
                                               fmt::format("unknown target {} (this model's "
                                                           "targets: {})",
                                                           quoted(name), fmt::join(names, ", ")));
                            }
                            rule.targets.push_back(std::move(name));
                        }
                        return {};
                    }
                    return unknown_key(kp, kRuleKeys);
                });
            if (!status) {
                return status;
            }
            if (!has_when || rule.targets.empty()) {
                return fail_at(rp, "needs both `when` and `targets`");
            }
            m.rules.push_back(std::move(rule));
        }
        return {};
    }

    Status parse_rule_when(const YAML::Node& node, const std::string& path, Rule& rule) {
        if (!node.IsMap() || node.size() == 0) {
            return fail_at(path, "must be a mapping with at least one of team, headers, metadata");
        }
        auto pairs = [&](const YAML::Node& map, const std::string& kp, bool header,
                         std::vector<std::pair<std::string, std::string>>& out) -> Status {
            if (!map.IsMap() || map.size() == 0) {
                return fail_at(kp, "must be a non-empty mapping of name: value");
            }
            return for_each_entry(map, kp,
                                  [&](const std::string& name, const YAML::Node& value,
                                      const std::string& vp) -> Status {
                                      if (header && !is_token(name)) {
                                          return fail_at(vp, "must be a valid HTTP header name");
                                      }
                                      std::string text;
                                      if (auto s = read_string(value, vp, text); !s) {
                                          return s;
                                      }
                                      out.emplace_back(name, std::move(text));
                                      return {};
                                  });
        };
        return for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "team") {
                    return read_string(value, kp, rule.team);
                }
                if (key == "headers") {
                    return pairs(value, kp, true, rule.headers);
                }
                if (key == "metadata") {
                    return pairs(value, kp, false, rule.metadata);
                }
                return unknown_key(kp, kWhenKeys);
            });
    }

    // -- routing and admin ---------------------------------------------------------------------

    Status parse_routing(const YAML::Node& node, const std::string& path, Routing& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "retry_budget_ratio") {
                    return read_number(value, kp, 0.0, 10.0,
                                       "must be a number from 0 to 10 (0.2 = 20%)",
                                       out.retry_budget_ratio);
                }
                if (key == "retry_budget_min") {
                    return read_int(value, kp, 0, 100'000, out.retry_budget_min);
                }
                if (key == "exploration") {
                    return read_number(value, kp, 0.0, 1.0, "must be a number from 0 to 1",
                                       out.exploration);
                }
                if (key == "seed") {
                    auto text = scalar(value, kp, "must be an unsigned integer");
                    if (!text) {
                        return fail(std::move(text).error());
                    }
                    const auto v = parse_unsigned(**text);
                    if (!v) {
                        return fail_at(kp, "must be an unsigned integer" + got(**text));
                    }
                    out.seed = *v;
                    return {};
                }
                if (key == "health") {
                    return parse_health(value, kp, out.health);
                }
                return unknown_key(kp, kRoutingKeys);
            });
    }

    Status parse_health(const YAML::Node& node, const std::string& path, Health& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "consecutive_failures") {
                    return read_int(value, kp, 1, 1000, out.consecutive_failures);
                }
                if (key == "base_ejection") {
                    return read_duration(value, kp, out.base_ejection);
                }
                if (key == "max_ejection") {
                    return read_duration(value, kp, out.max_ejection);
                }
                if (key == "max_ejected_percent") {
                    return read_int(value, kp, 0, 100, out.max_ejected_percent);
                }
                if (key == "probe") {
                    if (auto s = parse_probe(value, kp, std::nullopt, out.probe); !s) {
                        return s;
                    }
                    default_probe_ = out.probe;
                    return {};
                }
                return unknown_key(kp, kHealthKeys);
            });
        if (status && out.max_ejection < out.base_ejection) {
            return fail_at(child(path, "max_ejection"), "must not be less than base_ejection");
        }
        return status;
    }

    // -- probes --------------------------------------------------------------------------------

    // `probe:` of routing.health (base: none) or of a target (base: routing.health.probe). A
    // mapping turns probing on, its missing keys taken from `base` (or the defaults); `false`
    // turns it off, `true` on with `base`'s settings.
    Status parse_probe(const YAML::Node& node, const std::string& path,
                       const std::optional<Probe>& base, std::optional<Probe>& out) {
        if (node.IsScalar()) {
            bool on = false;
            if (auto s = read_bool(node, path, on); !s) {
                return fail_at(path,
                               "must be a mapping with interval, timeout and max_tokens, "
                               "or true or false" +
                                   got(node.Scalar()));
            }
            out.reset();
            if (on) {
                out = base.value_or(Probe{});
            }
            return {};
        }
        if (auto s = expect_map(node, path); !s) {
            return fail_at(path, fmt::format("must be a mapping with interval, timeout and "
                                             "max_tokens, or true or false (got {})",
                                             node_kind(node)));
        }
        Probe p = base.value_or(Probe{});
        bool timeout_set = false;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "interval") {
                    return read_duration(value, kp, p.interval);
                }
                if (key == "timeout") {
                    timeout_set = true;
                    return read_duration(value, kp, p.timeout);
                }
                if (key == "max_tokens") {
                    return read_int(value, kp, 1, 4096, p.max_tokens);
                }
                return unknown_key(kp, kProbeKeys);
            });
        if (!status) {
            return status;
        }
        if (!timeout_set) {
            p.timeout = std::min(base ? base->timeout : kDefaultProbeTimeout, p.interval);
        }
        if (p.timeout > p.interval) {
            return fail_at(child(path, "timeout"),
                           fmt::format("the probe timeout ({} ms) must not exceed its interval "
                                       "({} ms)",
                                       p.timeout.count(), p.interval.count()));
        }
        out = p;
        return {};
    }

    Status parse_admin(const YAML::Node& node, const std::string& path, Admin& out) {
        if (node.IsNull()) {
            return {};
        }
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "listen") {
                    out.enabled = true;
                    return read_listen(value, kp, out.host, out.port);
                }
                return unknown_key(kp, kAdminKeys);
            });
    }

    // -- auth ----------------------------------------------------------------------------------

    Status read_u64(const YAML::Node& node, const std::string& path, std::uint64_t& out) {
        constexpr std::string_view kExpected = "must be a non-negative integer (0 = unlimited)";
        auto text = scalar(node, path, kExpected);
        if (!text) {
            return fail(std::move(text).error());
        }
        const auto value = parse_unsigned(**text);
        if (!value || *value > (std::uint64_t{1} << 53)) {
            return fail_at(path, std::string(kExpected) + got(**text));
        }
        out = *value;
        return {};
    }

    Status read_money(const YAML::Node& node, const std::string& path, double& out) {
        return read_number(node, path, 0.0, 1e9,
                           "must be an amount of currency >= 0 and at most 1e9, e.g. 25 or 12.50",
                           out);
    }

    // A list of model names or globs (`*` any run of characters, `?` one character).
    Status read_globs(const YAML::Node& node, const std::string& path,
                      std::vector<std::string>& out) {
        if (!node.IsSequence()) {
            return fail_at(path, fmt::format("must be a list of model names or globs, e.g. "
                                             "[\"gpt-4o*\"] (got {})",
                                             node_kind(node)));
        }
        out.clear();
        for (std::size_t i = 0; i < node.size(); ++i) {
            const std::string ip = fmt::format("{}[{}]", path, i);
            std::string text;
            if (auto s = read_string(node[i], ip, text); !s) {
                return s;
            }
            if (text.empty() || text.size() > kMaxModelNameLength || has_space_or_control(text)) {
                return fail_at(ip, fmt::format("must be a model name or glob (1 to {} characters, "
                                               "no spaces or control characters){}",
                                               kMaxModelNameLength, got(text)));
            }
            out.push_back(std::move(text));
        }
        return {};
    }

    Status read_names(const YAML::Node& node, const std::string& path,
                      std::vector<std::string>& out) {
        if (!node.IsSequence()) {
            return fail_at(path, fmt::format("must be a list of names (got {})", node_kind(node)));
        }
        out.clear();
        for (std::size_t i = 0; i < node.size(); ++i) {
            std::string text;
            if (auto s = read_string(node[i], fmt::format("{}[{}]", path, i), text); !s) {
                return s;
            }
            out.push_back(std::move(text));
        }
        return {};
    }

    // RFC 3339 UTC ("2027-01-31T00:00:00Z") or an integer number of unix seconds.
    Status read_time(const YAML::Node& node, const std::string& path, std::int64_t& out) {
        constexpr std::string_view kExpected =
            "must be a UTC time like 2027-01-31T00:00:00Z or unix seconds";
        auto text = scalar(node, path, kExpected);
        if (!text) {
            return fail(std::move(text).error());
        }
        const std::string& t = **text;
        if (is_all_digits(t)) {
            const auto v = parse_unsigned(t);
            if (!v || *v > (std::uint64_t{1} << 40)) {
                return fail_at(path, std::string(kExpected) + got(t));
            }
            out = static_cast<std::int64_t>(*v);
            return {};
        }
        auto num = [&](std::size_t pos, std::size_t len) -> std::optional<std::uint64_t> {
            return parse_unsigned(std::string_view(t).substr(pos, len));
        };
        if (t.size() != 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
            t[16] != ':' || t[19] != 'Z') {
            return fail_at(path, std::string(kExpected) + got(t));
        }
        const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
                   se = num(17, 2);
        if (!y || !mo || !d || !h || !mi || !se || *y < 1970 || *mo < 1 || *mo > 12 || *d < 1 ||
            *d > 31 || *h > 23 || *mi > 59 || *se > 59) {
            return fail_at(path, std::string(kExpected) + got(t));
        }
        // Days from civil (Howard Hinnant's algorithm, public domain description).
        const std::int64_t yy = static_cast<std::int64_t>(*y) - (*mo <= 2 ? 1 : 0);
        const std::int64_t era = yy / 400;
        const std::int64_t yoe = yy - era * 400;
        const std::int64_t m = static_cast<std::int64_t>(*mo);
        const std::int64_t doy =
            (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<std::int64_t>(*d) - 1;
        const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        const std::int64_t days = era * 146097 + doe - 719468;
        out = days * 86400 + static_cast<std::int64_t>(*h) * 3600 +
              static_cast<std::int64_t>(*mi) * 60 + static_cast<std::int64_t>(*se);
        return {};
    }

    Status parse_limits(const YAML::Node& node, const std::string& path, RateLimits& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "requests_per_minute") {
                    return read_u64(value, kp, out.requests_per_minute);
                }
                if (key == "requests_per_day") {
                    return read_u64(value, kp, out.requests_per_day);
                }
                if (key == "tokens_per_minute") {
                    return read_u64(value, kp, out.tokens_per_minute);
                }
                if (key == "tokens_per_day") {
                    return read_u64(value, kp, out.tokens_per_day);
                }
                return unknown_key(kp, kLimitKeys);
            });
    }

    Status parse_budget(const YAML::Node& node, const std::string& path, Budget& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "daily") {
                    return read_money(value, kp, out.daily);
                }
                if (key == "weekly") {
                    return read_money(value, kp, out.weekly);
                }
                if (key == "monthly") {
                    return read_money(value, kp, out.monthly);
                }
                return unknown_key(kp, kBudgetKeys);
            });
    }

    Status parse_model_limits(const YAML::Node& node, const std::string& path,
                              std::vector<std::pair<std::string, RateLimits>>& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(node, path,
                              [&](const std::string& model, const YAML::Node& value,
                                  const std::string& kp) -> Status {
                                  if (model.empty() || has_space_or_control(model)) {
                                      return fail_at(kp, "must be a model name or glob");
                                  }
                                  RateLimits limits;
                                  if (auto s = parse_limits(value, kp, limits); !s) {
                                      return s;
                                  }
                                  out.emplace_back(model, limits);
                                  return {};
                              });
    }

    Status parse_key_store(const YAML::Node& node, const std::string& path, Auth& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        bool type_set = false;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "type") {
                    std::string t;
                    if (auto s = read_string(value, kp, t); !s) {
                        return s;
                    }
                    type_set = true;
                    if (t == "yaml") {
                        out.key_store = KeyStoreType::Yaml;
                    } else if (t == "sqlite") {
                        out.key_store = KeyStoreType::Sqlite;
                    } else {
                        return fail_at(kp, fmt::format("must be yaml or sqlite{}", got(t)));
                    }
                    return {};
                }
                if (key == "path") {
                    return read_string(value, kp, out.sqlite_path);
                }
                if (key == "refresh") {
                    return read_duration(value, kp, out.key_refresh);
                }
                if (key == "spend_flush") {
                    return read_duration(value, kp, out.spend_flush);
                }
                return unknown_key(kp, kKeyStoreKeys);
            });
        if (!status) {
            return status;
        }
        if (!type_set) {
            return fail_at(child(path, "type"), "is required (yaml or sqlite)");
        }
        if (out.key_store == KeyStoreType::Sqlite && out.sqlite_path.empty()) {
            return fail_at(child(path, "path"), "is required for key_store type sqlite");
        }
        return {};
    }

    Status parse_key(const std::string& id, const YAML::Node& node, const std::string& path,
                     ApiKeyEntry& k) {
        if (!node.IsMap()) {
            return fail_at(path, fmt::format("must be a mapping with at least `hash` (got {})",
                                             node_kind(node)));
        }
        k.id = id;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "hash") {
                    if (auto s = read_string(value, kp, k.hash); !s) {
                        return s;
                    }
                    // Never echoed: a hash lets an attacker test guesses offline.
                    if (k.hash.size() != 64 || !std::all_of(k.hash.begin(), k.hash.end(), is_hex)) {
                        return fail_at(kp,
                                       "must be the 64 hex digits printed by `switchboard "
                                       "keys create`");
                    }
                    std::transform(k.hash.begin(), k.hash.end(), k.hash.begin(), [](char c) {
                        return (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
                    });
                    return {};
                }
                if (key == "owner") {
                    return read_string(value, kp, k.owner);
                }
                if (key == "team") {
                    return read_string(value, kp, k.team);
                }
                if (key == "models") {
                    return read_globs(value, kp, k.models);
                }
                if (key == "limits") {
                    return parse_limits(value, kp, k.limits);
                }
                if (key == "model_limits") {
                    return parse_model_limits(value, kp, k.model_limits);
                }
                if (key == "budget") {
                    return parse_budget(value, kp, k.budget);
                }
                if (key == "expires_at") {
                    return read_time(value, kp, k.expires_at);
                }
                if (key == "revoked") {
                    return read_bool(value, kp, k.revoked);
                }
                if (key == "metadata") {
                    if (auto s = expect_map(value, kp); !s) {
                        return s;
                    }
                    return for_each_entry(value, kp,
                                          [&](const std::string& mk, const YAML::Node& mv,
                                              const std::string& mp) -> Status {
                                              std::string text;
                                              if (auto s = read_string(mv, mp, text); !s) {
                                                  return s;
                                              }
                                              k.metadata.emplace_back(mk, std::move(text));
                                              return {};
                                          });
                }
                return unknown_key(kp, kApiKeyKeys);
            });
        if (!status) {
            return status;
        }
        if (k.hash.empty()) {
            return fail_at(child(path, "hash"), "is required (from `switchboard keys create`)");
        }
        return {};
    }

    Status parse_issuer(const std::string& name, const YAML::Node& node, const std::string& path,
                        JwtIssuer& j) {
        if (!node.IsMap()) {
            return fail_at(path, fmt::format("must be a mapping with issuer, algorithm and a key "
                                             "(got {})",
                                             node_kind(node)));
        }
        j.name = name;
        std::string key_file;
        bool alg_set = false;
        int key_sources = 0;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "issuer") {
                    return read_string(value, kp, j.issuer);
                }
                if (key == "audience") {
                    if (value.IsScalar()) {
                        std::string a;
                        if (auto s = read_string(value, kp, a); !s) {
                            return s;
                        }
                        j.audiences = {std::move(a)};
                        return {};
                    }
                    return read_names(value, kp, j.audiences);
                }
                if (key == "algorithm") {
                    std::string a;
                    if (auto s = read_string(value, kp, a); !s) {
                        return s;
                    }
                    alg_set = true;
                    if (a == "RS256") {
                        j.algorithm = JwtAlgorithm::RS256;
                    } else if (a == "ES256") {
                        j.algorithm = JwtAlgorithm::ES256;
                    } else {
                        return fail_at(kp, fmt::format("must be RS256 or ES256 (symmetric and "
                                                       "`none` algorithms are refused){}",
                                                       got(a)));
                    }
                    return {};
                }
                if (key == "public_key") {
                    ++key_sources;
                    return read_string(value, kp, j.public_key_pem);
                }
                if (key == "public_key_file") {
                    ++key_sources;
                    return read_string(value, kp, key_file);
                }
                if (key == "jwks_url") {
                    ++key_sources;
                    if (auto s = read_string(value, kp, j.jwks_url); !s) {
                        return s;
                    }
                    if (auto url = normalize_base_url(j.jwks_url); !url) {
                        return fail_at(kp, url.error());
                    }
                    return {};
                }
                if (key == "jwks_refresh") {
                    return read_duration(value, kp, j.jwks_refresh);
                }
                if (key == "jwks_ttl") {
                    return read_duration(value, kp, j.jwks_ttl);
                }
                if (key == "leeway") {
                    if (value.IsScalar() && value.Scalar() == "0") {
                        j.leeway = Millis(0);
                        return {};
                    }
                    if (auto s = read_duration(value, kp, j.leeway); !s) {
                        return s;
                    }
                    if (j.leeway > Millis(300'000)) {
                        return fail_at(kp, "must be at most 5m");
                    }
                    return {};
                }
                if (key == "claims") {
                    if (auto s = expect_map(value, kp); !s) {
                        return s;
                    }
                    return for_each_entry(value, kp,
                                          [&](const std::string& ck, const YAML::Node& cv,
                                              const std::string& cp) -> Status {
                                              std::string* target = ck == "user"    ? &j.user_claim
                                                                    : ck == "team"  ? &j.team_claim
                                                                    : ck == "roles" ? &j.roles_claim
                                                                                    : nullptr;
                                              if (target == nullptr) {
                                                  return unknown_key(cp, kClaimKeys);
                                              }
                                              if (auto s = read_string(cv, cp, *target); !s) {
                                                  return s;
                                              }
                                              if (target->empty()) {
                                                  return fail_at(cp, "must be a claim name");
                                              }
                                              return {};
                                          });
                }
                return unknown_key(kp, kIssuerKeys);
            });
        if (!status) {
            return status;
        }
        if (j.issuer.empty()) {
            return fail_at(child(path, "issuer"), "is required (the expected `iss` claim)");
        }
        if (!alg_set) {
            return fail_at(child(path, "algorithm"), "is required (RS256 or ES256)");
        }
        if (key_sources != 1) {
            return fail_at(path, "needs exactly one of public_key, public_key_file, jwks_url");
        }
        if (!key_file.empty()) {
            std::FILE* f = std::fopen(key_file.c_str(), "rb");
            if (f == nullptr) {
                const std::error_code ec(errno, std::generic_category());
                return fail_at(child(path, "public_key_file"),
                               fmt::format("cannot read {}: {}", quoted(key_file), ec.message()));
            }
            std::array<char, 4096> buffer{};
            std::size_t n = 0;
            while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0 &&
                   j.public_key_pem.size() < kMiB) {
                j.public_key_pem.append(buffer.data(), n);
            }
            std::fclose(f);
        }
        return {};
    }

    template <typename T, typename Fn>
    Status parse_named(const YAML::Node& node, const std::string& path, std::vector<T>& out,
                       Fn&& fn) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        return for_each_entry(
            node, path,
            [&](const std::string& name, const YAML::Node& value, const std::string& kp) -> Status {
                if (!is_provider_name(name)) {
                    return fail_at(kp, fmt::format("invalid name {} (use letters, digits, _, . "
                                                   "and -)",
                                                   quoted(name)));
                }
                T item;
                item.name = name;
                if (auto s = expect_map(value, kp); !s) {
                    return s;
                }
                if (auto s = for_each_entry(
                        value, kp,
                        [&](const std::string& key, const YAML::Node& v,
                            const std::string& p) -> Status { return fn(item, key, v, p); });
                    !s) {
                    return s;
                }
                out.push_back(std::move(item));
                return {};
            });
    }

    Status parse_auth(const YAML::Node& node, const std::string& path, Auth& out) {
        if (auto s = expect_map(node, path); !s) {
            return s;
        }
        out.enabled = true;
        std::optional<YAML::Node> keys;
        auto status = for_each_entry(
            node, path,
            [&](const std::string& key, const YAML::Node& value, const std::string& kp) -> Status {
                if (key == "required") {
                    return read_bool(value, kp, out.required);
                }
                if (key == "key_store") {
                    return parse_key_store(value, kp, out);
                }
                if (key == "default_max_tokens") {
                    if (auto s = read_u64(value, kp, out.default_max_tokens); !s) {
                        return s;
                    }
                    if (out.default_max_tokens == 0) {
                        return fail_at(kp, "must be at least 1");
                    }
                    return {};
                }
                if (key == "keys") {
                    keys.emplace(value);
                    return {};
                }
                if (key == "jwt") {
                    if (auto s = expect_map(value, kp); !s) {
                        return s;
                    }
                    return for_each_entry(
                        value, kp,
                        [&](const std::string& jk, const YAML::Node& jv,
                            const std::string& jp) -> Status {
                            if (jk != "issuers") {
                                return fail_at(jp, "unknown key (expected one of: issuers)");
                            }
                            if (auto s = expect_map(jv, jp); !s) {
                                return s;
                            }
                            return for_each_entry(jv, jp,
                                                  [&](const std::string& name, const YAML::Node& iv,
                                                      const std::string& ip) -> Status {
                                                      JwtIssuer j;
                                                      if (auto s = parse_issuer(name, iv, ip, j);
                                                          !s) {
                                                          return s;
                                                      }
                                                      out.jwt_issuers.push_back(std::move(j));
                                                      return {};
                                                  });
                        });
                }
                if (key == "teams") {
                    return parse_named(value, kp, out.teams,
                                       [&](Team& t, const std::string& k, const YAML::Node& v,
                                           const std::string& p) -> Status {
                                           if (k == "models") {
                                               return read_globs(v, p, t.models);
                                           }
                                           if (k == "limits") {
                                               return parse_limits(v, p, t.limits);
                                           }
                                           if (k == "budget") {
                                               return parse_budget(v, p, t.budget);
                                           }
                                           return unknown_key(p, kTeamKeys);
                                       });
                }
                if (key == "users") {
                    return parse_named(value, kp, out.users,
                                       [&](User& u, const std::string& k, const YAML::Node& v,
                                           const std::string& p) -> Status {
                                           if (k == "team") {
                                               return read_string(v, p, u.team);
                                           }
                                           if (k == "roles") {
                                               return read_names(v, p, u.roles);
                                           }
                                           if (k == "models") {
                                               return read_globs(v, p, u.models);
                                           }
                                           if (k == "limits") {
                                               return parse_limits(v, p, u.limits);
                                           }
                                           if (k == "budget") {
                                               return parse_budget(v, p, u.budget);
                                           }
                                           return unknown_key(p, kUserKeys);
                                       });
                }
                if (key == "roles") {
                    return parse_named(value, kp, out.roles,
                                       [&](Role& r, const std::string& k, const YAML::Node& v,
                                           const std::string& p) -> Status {
                                           if (k == "models") {
                                               return read_globs(v, p, r.models);
                                           }
                                           if (k == "admin") {
                                               return read_bool(v, p, r.admin);
                                           }
                                           return unknown_key(p, kRoleKeys);
                                       });
                }
                if (key == "model_limits") {
                    return parse_model_limits(value, kp, out.model_limits);
                }
                return unknown_key(kp, kAuthKeys);
            });
        if (!status) {
            return status;
        }
        if (keys) {
            const std::string kp = child(path, "keys");
            if (out.key_store != KeyStoreType::Yaml) {
                return fail_at(kp,
                               "is only for key_store type yaml (use `switchboard keys create "
                               "--config` for sqlite)");
            }
            if (auto s = expect_map(*keys, kp); !s) {
                return s;
            }
            auto s = for_each_entry(
                *keys, kp,
                [&](const std::string& id, const YAML::Node& value,
                    const std::string& ip) -> Status {
                    if (!is_provider_name(id) || id.size() > 64) {
                        return fail_at(ip, fmt::format("invalid key id {} (1 to 64 letters, "
                                                       "digits, _, . and -)",
                                                       quoted(id)));
                    }
                    ApiKeyEntry k;
                    if (auto ks = parse_key(id, value, ip, k); !ks) {
                        return ks;
                    }
                    for (const ApiKeyEntry& other : out.keys) {
                        if (other.hash == k.hash) {
                            return fail_at(child(ip, "hash"),
                                           fmt::format("same hash as key {}", quoted(other.id)));
                        }
                    }
                    out.keys.push_back(std::move(k));
                    return {};
                });
            if (!s) {
                return s;
            }
        }
        // Cross-references: teams and roles named anywhere must be defined.
        auto has_team = [&](const std::string& t) {
            return std::any_of(out.teams.begin(), out.teams.end(),
                               [&](const Team& x) { return x.name == t; });
        };
        auto team_error = [&](const std::string& p, const std::string& t) {
            std::vector<std::string_view> names;
            for (const Team& x : out.teams) {
                names.push_back(x.name);
            }
            return fail_at(
                p, fmt::format("unknown team {} (defined in auth.teams: {})", quoted(t),
                               names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
        };
        for (const ApiKeyEntry& k : out.keys) {
            if (!k.team.empty() && !has_team(k.team)) {
                return team_error(child(child(child(path, "keys"), k.id), "team"), k.team);
            }
        }
        for (const User& u : out.users) {
            const std::string up = child(child(path, "users"), u.name);
            if (!u.team.empty() && !has_team(u.team)) {
                return team_error(child(up, "team"), u.team);
            }
            for (const std::string& r : u.roles) {
                if (std::none_of(out.roles.begin(), out.roles.end(),
                                 [&](const Role& x) { return x.name == r; })) {
                    return fail_at(
                        child(up, "roles"),
                        fmt::format("unknown role {} (define it in auth.roles)", quoted(r)));
                }
            }
        }
        return {};
    }

    const EnvLookup& env_;
    ProviderDraft* draft_ = nullptr;      // the provider being parsed, if any
    std::optional<Probe> default_probe_;  // routing.health.probe, for targets without `probe:`
};

// Sees the first event of a YAML document, to tell an empty document from a real one.
class DocumentProbe final : public YAML::EventHandler {
  public:
    bool is_bare_null() const { return events_ == 1 && first_is_null_; }
    std::size_t position() const { return first_mark_.pos; }
    const YAML::Mark& mark() const { return first_mark_; }

    void OnDocumentStart(const YAML::Mark& /*mark*/) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override { seen(mark, true); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override { seen(mark, false); }
    void OnScalar(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  const std::string& /*value*/) override {
        seen(mark, false);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/,
                         YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {
        seen(mark, false);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                    YAML::EmitterStyle::value /*style*/) override {
        seen(mark, false);
    }
    void OnMapEnd() override {}

  private:
    void seen(const YAML::Mark& mark, bool is_null) {
        if (events_++ == 0) {
            first_mark_ = mark;
            first_is_null_ = is_null;
        }
    }

    std::size_t events_ = 0;
    bool first_is_null_ = false;
    YAML::Mark first_mark_ = YAML::Mark::null_mark();
};

// Rejects a stream of more than one document. Reads at most two: yaml-cpp 0.7's LoadAll() loops
// forever, allocating, on input such as a lone "," because HandleNextDocument() keeps reporting
// the same empty document without consuming the token (jbeder/yaml-cpp#1040, fixed upstream by
// #1319). Two empty documents at the same position are that bug, reported as invalid YAML.
Status check_single_document(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentProbe first;
    DocumentProbe second;
    if (!parser.HandleNextDocument(first) || !parser.HandleNextDocument(second)) {
        return {};
    }
    if (first.is_bare_null() && second.is_bare_null() && first.position() == second.position()) {
        return fail_at(std::string(kRootPath),
                       fmt::format("invalid YAML at line {}, column {}: unexpected character",
                                   first.mark().line + 1, first.mark().column + 1));
    }
    return fail_at(std::string(kRootPath),
                   "expected one YAML document, found more than one (a line \"---\" starts a "
                   "new document)");
}

}  // namespace

std::string_view to_string(Strategy s) {
    switch (s) {
        case Strategy::Weighted:
            return "weighted";
        case Strategy::Priority:
            return "priority";
        case Strategy::LeastLatency:
            return "least_latency";
        case Strategy::LowestCost:
            return "lowest_cost";
    }
    return "weighted";
}

std::string_view to_string(FallbackOn f) {
    switch (f) {
        case FallbackOn::ContextWindow:
            return "context_window";
        case FallbackOn::ContentPolicy:
            return "content_policy";
        case FallbackOn::RateLimited:
            return "rate_limited";
        case FallbackOn::Unavailable:
            return "unavailable";
    }
    return "unavailable";
}

std::string_view to_string(ProviderType t) {
    switch (t) {
        case ProviderType::OpenAI:
            return "openai";
        case ProviderType::OpenAICompatible:
            return "openai-compatible";
        case ProviderType::Azure:
            return "azure";
        case ProviderType::Anthropic:
            return "anthropic";
        case ProviderType::Gemini:
            return "gemini";
        case ProviderType::Bedrock:
            return "bedrock";
        case ProviderType::Vertex:
            return "vertex";
    }
    return "unknown";
}

EnvLookup process_env() {
    return [](std::string_view name) -> std::optional<std::string> {
        // getenv needs a NUL-terminated name; a name with a NUL inside cannot be set.
        const std::string key(name);
        if (key.find('\0') != std::string::npos) {
            return std::nullopt;
        }
        const char* value = std::getenv(key.c_str());
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string(value);
    };
}

Result<Config> parse(std::string_view yaml_text, const EnvLookup& env) {
    // yaml-cpp reports errors by throwing; this is the edge where they become values.
    try {
        const std::string text(yaml_text);
        const YAML::Node root = YAML::Load(text);  // the first document
        if (auto s = check_single_document(text); !s) {
            return fail(std::move(s).error());
        }
        Parser parser(env);
        return parser.parse_root(root);
    } catch (const YAML::Exception& e) {
        if (e.mark.is_null()) {
            return fail_at(std::string(kRootPath), fmt::format("invalid YAML: {}", e.msg));
        }
        return fail_at(std::string(kRootPath),
                       fmt::format("invalid YAML at line {}, column {}: {}", e.mark.line + 1,
                                   e.mark.column + 1, e.msg));
    }
}

Result<Config> load_file(const std::string& path, const EnvLookup& env) {
    struct FileCloser {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        const std::error_code ec(errno, std::generic_category());
        return fail(ErrorCode::Internal,
                    fmt::format("cannot read config file {}: {}", quoted(path), ec.message()));
    }
    std::string text;
    std::array<char, 16 * 1024> buffer{};
    while (true) {
        const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get());
        text.append(buffer.data(), n);
        if (n < buffer.size()) {
            break;
        }
    }
    if (std::ferror(file.get()) != 0) {
        const std::error_code ec(errno, std::generic_category());
        return fail(ErrorCode::Internal,
                    fmt::format("cannot read config file {}: {}", quoted(path), ec.message()));
    }
    return parse(text, env);
}

}  // namespace sb::config
