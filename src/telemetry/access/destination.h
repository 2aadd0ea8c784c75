#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/result.h"
#include "telemetry/access/files.h"

namespace sb::telemetry::access {

// Where finished Parquet files go. put() returns once the file is durable there (or fails); the
// same name written twice holds the same bytes, so a replay overwrites rather than duplicates.
// Used by the log's delivery thread only.
class Destination {
  public:
    Destination() = default;
    Destination(const Destination&) = delete;
    Destination& operator=(const Destination&) = delete;
    virtual ~Destination() = default;
    virtual std::string_view kind() const = 0;  // "local", "s3"
    virtual Status put(const EncodedFile& file) = 0;
};

// A local folder: `<root>/<name>`, written to a temporary file, fsynced, renamed into place and
// the directory fsynced.
class LocalDestination final : public Destination {
  public:
    explicit LocalDestination(std::string root) : root_(std::move(root)) {}
    std::string_view kind() const override { return "local"; }
    Status put(const EncodedFile& file) override;

  private:
    std::string root_;
};

struct S3Options {
    std::string endpoint;  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:4568"
    std::string bucket;
    std::string region = "us-east-1";
    std::string prefix;  // key prefix, "" or ending in '/'
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;
    bool path_style = true;  // false: virtual-hosted (bucket.host)
    long timeout_ms = 30'000;
};

// An S3-compatible bucket: PUT Object with SigV4 (x-amz-content-sha256 signed) through libcurl
// easy, one attempt per put(); the log retries with backoff. A 2xx answer is durable.
class S3Destination final : public Destination {
  public:
    // `now_seconds` is the clock the signature's date comes from.
    S3Destination(S3Options options, std::function<std::int64_t()> now_seconds);
    std::string_view kind() const override { return "s3"; }
    Status put(const EncodedFile& file) override;

    // The URL and Host header a key is sent to (for tests and docs).
    struct Target {
        std::string url;
        std::string host;
        std::string path;  // URI-encoded, as sent and signed
    };
    Target target_for(std::string_view key) const;

  private:
    S3Options options_;
    std::function<std::int64_t()> now_seconds_;
};

}  // namespace sb::telemetry::access
