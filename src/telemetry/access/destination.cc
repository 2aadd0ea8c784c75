#include "telemetry/access/destination.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "aws/sigv4.h"
#include "telemetry/parquet/sink.h"

namespace sb::telemetry::access {

namespace {

// mkdir -p; `path` is a directory.
Status make_dirs(const std::string& path) {
    std::string partial;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        partial = path.substr(0, pos);
        if (partial.empty()) {
            continue;
        }
        if (::mkdir(partial.c_str(), 0750) != 0 && errno != EEXIST) {
            return fail(ErrorCode::Internal, fmt::format("cannot create directory {}: {}", partial,
                                                         std::strerror(errno)));
        }
    }
    return {};
}

}  // namespace

Status LocalDestination::put(const EncodedFile& file) {
    const std::string path = root_ + "/" + file.name;
    const std::string dir = path.substr(0, path.rfind('/'));
    if (auto st = make_dirs(dir); !st) {
        return st;
    }
    const std::string tmp = path + ".tmp";
    auto sink = parquet::FileSink::open(tmp, parquet::FileMode::Replace);
    if (!sink) {
        return fail(sink.error());
    }
    if (auto st = sink->write(file.bytes); !st) {
        return st;
    }
    if (auto st = sink->sync(); !st) {
        return st;
    }
    if (auto st = sink->close(); !st) {
        return st;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return fail(ErrorCode::Internal,
                    fmt::format("cannot rename {}: {}", tmp, std::strerror(errno)));
    }
    return parquet::sync_parent_directory(path);
}

S3Destination::S3Destination(S3Options options, std::function<std::int64_t()> now_seconds)
    : options_(std::move(options)), now_seconds_(std::move(now_seconds)) {
    while (!options_.endpoint.empty() && options_.endpoint.back() == '/') {
        options_.endpoint.pop_back();
    }
}

S3Destination::Target S3Destination::target_for(std::string_view key) const {
    std::string_view endpoint = options_.endpoint;
    std::string_view scheme = "https://";
    if (auto p = endpoint.find("://"); p != std::string_view::npos) {
        scheme = endpoint.substr(0, p + 3);
        endpoint.remove_prefix(p + 3);
    }
    // Anything after the authority in the endpoint is a base path kept in front of the key.
    std::string_view base_path;
    if (auto slash = endpoint.find('/'); slash != std::string_view::npos) {
        base_path = endpoint.substr(slash);
        endpoint = endpoint.substr(0, slash);
    }
    std::string full_key = options_.prefix + std::string(key);
    std::string encoded_key = aws::sigv4::uri_encode(full_key, /*keep_slash=*/true);
    Target t;
    if (options_.path_style) {
        t.host = std::string(endpoint);
        t.path = fmt::format("{}/{}/{}", base_path, aws::sigv4::uri_encode(options_.bucket, false),
                             encoded_key);
    } else {
        t.host = fmt::format("{}.{}", options_.bucket, endpoint);
        t.path = fmt::format("{}/{}", base_path, encoded_key);
    }
    t.url = fmt::format("{}{}{}", scheme, t.host, t.path);
    return t;
}

namespace {

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
    auto* out = static_cast<std::string*>(user);
    if (out->size() < 4096) {
        out->append(data, std::min<std::size_t>(size * n, 4096 - out->size()));
    }
    return size * n;
}

// The <Code> of an S3 error body, for the error message (the body holds no credentials).
std::string s3_error_code(const std::string& body) {
    auto b = body.find("<Code>");
    auto e = body.find("</Code>");
    if (b == std::string::npos || e == std::string::npos || e < b) {
        return {};
    }
    return body.substr(b + 6, e - b - 6);
}

}  // namespace

Status S3Destination::put(const EncodedFile& file) {
    const Target t = target_for(file.name);
    aws::sigv4::Request req;
    req.method = "PUT";
    req.host = t.host;
    req.path = t.path;
    req.headers = {{"content-type", "application/vnd.apache.parquet"}};
    req.payload = file.bytes;
    aws::sigv4::Options opts;
    opts.region = options_.region;
    opts.service = "s3";
    opts.content_sha256_header = true;
    opts.s3_path = true;
    aws::sigv4::Credentials creds{options_.access_key_id, options_.secret_access_key,
                                  options_.session_token};
    aws::sigv4::Signed sig = aws::sigv4::sign(req, creds, opts, now_seconds_());

    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) {
        return fail(ErrorCode::Internal, "s3: curl_easy_init failed");
    }
    curl_slist* raw = nullptr;
    raw = curl_slist_append(raw, "Content-Type: application/vnd.apache.parquet");
    raw = curl_slist_append(raw, "Expect:");  // no 100-continue round trip
    for (const std::string& h : sig.headers) {
        raw = curl_slist_append(raw, h.c_str());
    }
    std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
    std::string body;
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, t.url.c_str());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, file.bytes.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(file.bytes.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(options_.timeout_ms, 10'000L));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");  // never through an environment proxy
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        return fail(ErrorCode::UpstreamUnreachable,
                    fmt::format("s3: PUT {}: {}", t.path, curl_easy_strerror(rc)));
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        std::string code = s3_error_code(body);
        return fail(
            ErrorCode::UpstreamBadResponse,
            fmt::format("s3: PUT {}: HTTP {}{}{}", t.path, status, code.empty() ? "" : " ", code));
    }
    return {};
}

}  // namespace sb::telemetry::access
