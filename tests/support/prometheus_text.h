#pragma once

// A strict parser for the Prometheus text exposition format (version 0.0.4), written from the
// format's specification for the tests: it accepts only well-formed output and checks what a
// scraper relies on. Header-only so that unit and integration tests share it. Test-thread only.

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::test::prom {

struct Sample {
    std::string name;  // full sample name (e.g. x_bucket)
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct Family {
    std::string name;
    std::string help;
    std::string type;  // counter, gauge, histogram, summary, untyped
    std::vector<Sample> samples;
};

struct Exposition {
    std::vector<Family> families;
    const Family* find(std::string_view name) const {
        for (const auto& f : families) {
            if (f.name == name) {
                return &f;
            }
        }
        return nullptr;
    }
    // The value of the sample `name` with exactly these labels, if present.
    std::optional<double> value(std::string_view name,
                                const std::map<std::string, std::string>& labels) const {
        for (const auto& f : families) {
            for (const auto& s : f.samples) {
                if (s.name == name && s.labels == labels) {
                    return s.value;
                }
            }
        }
        return std::nullopt;
    }
};

namespace detail {

inline bool is_name(std::string_view s, bool colon_ok) {
    if (s.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon_ok && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

inline std::optional<double> parse_value(std::string_view v) {
    if (v == "+Inf") {
        return HUGE_VAL;
    }
    if (v == "-Inf") {
        return -HUGE_VAL;
    }
    if (v == "NaN") {
        return std::nan("");
    }
    if (v.empty()) {
        return std::nullopt;
    }
    std::string s(v);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) {
        return std::nullopt;
    }
    if (s.find_first_not_of("0123456789.eE+-") != std::string::npos) {
        return std::nullopt;  // strtod also takes "inf", "nan", hex: the format does not
    }
    return d;
}

}  // namespace detail

// Parses `text` or returns an error naming the line. Checks: every line ends in '\n'; HELP and
// TYPE precede the samples of their family and appear at most once; a family's samples are
// contiguous; names and label names are valid; label values use only the \\ \" \n escapes;
// no label name repeats in a sample and no series repeats; values are floats. Histograms:
// only _bucket/_sum/_count samples, every bucket has `le`, bounds strictly increase per
// series and end with +Inf, counts are cumulative, and +Inf equals _count.
inline std::optional<std::string> parse(std::string_view text, Exposition& out) {
    using detail::is_name;
    if (!text.empty() && text.back() != '\n') {
        return "the last line does not end in a line feed";
    }
    std::set<std::string> seen_families;
    std::set<std::string> seen_series;
    Family* current = nullptr;
    auto family_of = [&](const std::string& sample_name) -> std::string {
        if (current != nullptr && current->type == "histogram") {
            for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
                if (sample_name.size() > suffix.size() && sample_name.ends_with(suffix) &&
                    sample_name.substr(0, sample_name.size() - suffix.size()) == current->name) {
                    return current->name;
                }
            }
        }
        return sample_name;
    };
    auto open_family = [&](const std::string& name) -> std::optional<std::string> {
        if (current != nullptr && current->name == name) {
            return std::nullopt;
        }
        if (!seen_families.insert(name).second) {
            return "family " + name + " appears in two separate blocks";
        }
        out.families.push_back(Family{name, {}, {}, {}});
        current = &out.families.back();
        return std::nullopt;
    };
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t eol = text.find('\n', pos);
        std::string_view line = text.substr(pos, eol - pos);
        pos = eol + 1;
        ++line_no;
        auto err = [&](const std::string& why) {
            return "line " + std::to_string(line_no) + ": " + why + ": " + std::string(line);
        };
        if (line.empty()) {
            continue;
        }
        if (line.starts_with("#")) {
            bool help = line.starts_with("# HELP ");
            bool type = line.starts_with("# TYPE ");
            if (!help && !type) {
                continue;  // a comment
            }
            std::string_view rest = line.substr(7);
            auto sp = rest.find(' ');
            std::string name(rest.substr(0, sp));
            std::string_view arg = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
            if (!is_name(name, true)) {
                return err("invalid metric name");
            }
            if (auto e = open_family(name)) {
                return err(*e);
            }
            if (!current->samples.empty()) {
                return err("HELP/TYPE after the family's samples");
            }
            if (help) {
                if (!current->help.empty()) {
                    return err("second HELP");
                }
                for (std::size_t i = 0; i < arg.size(); ++i) {
                    if (arg[i] == '\\') {
                        if (i + 1 >= arg.size() || (arg[i + 1] != '\\' && arg[i + 1] != 'n')) {
                            return err("bad escape in HELP");
                        }
                        ++i;
                    }
                }
                current->help = std::string(arg);
                if (current->help.empty()) {
                    return err("empty HELP");
                }
            } else {
                if (!current->type.empty()) {
                    return err("second TYPE");
                }
                if (arg != "counter" && arg != "gauge" && arg != "histogram" && arg != "summary" &&
                    arg != "untyped") {
                    return err("unknown TYPE");
                }
                current->type = std::string(arg);
            }
            continue;
        }
        // A sample: name [{labels}] value
        Sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') {
            ++i;
        }
        s.name = std::string(line.substr(0, i));
        if (!is_name(s.name, true)) {
            return err("invalid metric name");
        }
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (true) {
                if (i < line.size() && line[i] == '}') {
                    ++i;
                    break;
                }
                std::size_t eq = line.find('=', i);
                if (eq == std::string_view::npos) {
                    return err("label without '='");
                }
                std::string lname(line.substr(i, eq - i));
                if (!is_name(lname, false) || lname.starts_with("__")) {
                    return err("invalid label name '" + lname + "'");
                }
                i = eq + 1;
                if (i >= line.size() || line[i] != '"') {
                    return err("label value not quoted");
                }
                ++i;
                std::string value;
                bool closed = false;
                while (i < line.size()) {
                    char c = line[i++];
                    if (c == '"') {
                        closed = true;
                        break;
                    }
                    if (c == '\\') {
                        if (i >= line.size()) {
                            return err("dangling backslash");
                        }
                        char e = line[i++];
                        if (e == '\\') {
                            value += '\\';
                        } else if (e == '"') {
                            value += '"';
                        } else if (e == 'n') {
                            value += '\n';
                        } else {
                            return err("bad escape in label value");
                        }
                    } else {
                        value += c;
                    }
                }
                if (!closed) {
                    return err("unterminated label value");
                }
                if (!s.labels.emplace(lname, value).second) {
                    return err("label " + lname + " repeated");
                }
                if (i < line.size() && line[i] == ',') {
                    ++i;
                } else if (i >= line.size() || line[i] != '}') {
                    return err("expected ',' or '}' after a label");
                }
            }
        }
        if (i >= line.size() || line[i] != ' ') {
            return err("expected a space before the value");
        }
        std::string_view rest = line.substr(i + 1);
        auto sp = rest.find(' ');  // an optional timestamp may follow
        auto v = detail::parse_value(rest.substr(0, sp));
        if (!v) {
            return err("invalid value");
        }
        if (sp != std::string_view::npos) {
            std::string_view ts = rest.substr(sp + 1);
            if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string_view::npos) {
                return err("invalid timestamp");
            }
        }
        s.value = *v;
        std::string fam = family_of(s.name);
        if (current == nullptr || current->name != fam) {
            if (auto e = open_family(fam)) {
                return err(*e);
            }
        }
        if (current->type.empty() || current->help.empty()) {
            return err("sample without HELP and TYPE before it");
        }
        if (current->type == "histogram" && s.name == current->name) {
            return err("histogram sample without _bucket/_sum/_count");
        }
        if (current->type == "histogram" && s.name.ends_with("_bucket") &&
            s.labels.count("le") == 0) {
            return err("bucket without le");
        }
        std::string series_key = s.name;
        for (const auto& [k, val] : s.labels) {
            series_key += '\0' + k + '=' + val;
        }
        if (!seen_series.insert(series_key).second) {
            return err("duplicate series");
        }
        current->samples.push_back(std::move(s));
    }
    // Histogram consistency, per label set (without le).
    for (const auto& f : out.families) {
        if (f.type != "histogram") {
            continue;
        }
        struct Series {
            std::vector<std::pair<double, double>> buckets;  // (le, count) in order
            std::optional<double> count;
            std::optional<double> sum;
        };
        std::map<std::map<std::string, std::string>, Series> by_labels;
        for (const auto& s : f.samples) {
            auto labels = s.labels;
            if (s.name == f.name + "_bucket") {
                auto le = detail::parse_value(labels["le"]);
                if (!le) {
                    return f.name + ": invalid le '" + labels["le"] + "'";
                }
                labels.erase("le");
                by_labels[labels].buckets.emplace_back(*le, s.value);
            } else if (s.name == f.name + "_count") {
                by_labels[labels].count = s.value;
            } else {
                by_labels[labels].sum = s.value;
            }
        }
        for (const auto& [labels, ser] : by_labels) {
            if (ser.buckets.empty() || !ser.count || !ser.sum) {
                return f.name + ": a series lacks buckets, _sum or _count";
            }
            for (std::size_t k = 1; k < ser.buckets.size(); ++k) {
                if (!(ser.buckets[k].first > ser.buckets[k - 1].first)) {
                    return f.name + ": bucket bounds do not increase";
                }
                if (ser.buckets[k].second < ser.buckets[k - 1].second) {
                    return f.name + ": bucket counts are not cumulative";
                }
            }
            if (!std::isinf(ser.buckets.back().first)) {
                return f.name + ": the last bucket is not +Inf";
            }
            if (ser.buckets.back().second != *ser.count) {
                return f.name + ": +Inf bucket differs from _count";
            }
        }
    }
    return std::nullopt;
}

}  // namespace sb::test::prom
