// The `logging:` section (access log, docs/configuration.md).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "config/config.h"

namespace sb::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

EnvLookup env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        const auto it = vars.find(std::string(name));
        if (it == vars.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

std::string error_of(std::string_view yaml, std::map<std::string, std::string> vars = {}) {
    auto config = parse(yaml, env_of(std::move(vars)));
    return config ? std::string("(parsed)") : config.error().message;
}

TEST(ConfigLogging, DefaultsAreOffWithALocalFolderAndRefusePolicy) {
    auto config = parse("server: {}\n", env_of({}));
    ASSERT_TRUE(config);
    const Logging& l = config->logging;
    EXPECT_FALSE(l.enabled);
    EXPECT_EQ(l.directory, "./access-logs");
    EXPECT_EQ(l.spool_policy, LogSpoolPolicy::Refuse);
    EXPECT_EQ(l.fsync_interval, 100ms);
    EXPECT_EQ(l.spool_max_bytes, std::size_t{1} << 30);
    EXPECT_FALSE(l.s3.has_value());
    EXPECT_FALSE(l.bodies.enabled);
}

TEST(ConfigLogging, ParsesEveryKey) {
    auto config = parse(R"(
logging:
  enabled: true
  directory: /var/log/sb
  spool_dir: /var/spool/sb
  spool_max_bytes: 2GiB
  spool_policy: drop_oldest
  fsync_interval: 50ms
  rotate_bytes: 16MiB
  rotate_age: 5m
  queue_capacity: 1024
  s3:
    endpoint: http://127.0.0.1:9000
    bucket: logs
    region: eu-west-1
    prefix: gw
    access_key_id: ${AK}
    secret_access_key: ${SK}
    path_style: false
    timeout: 5s
  bodies:
    enabled: true
    redact: ['sk-[A-Za-z0-9]+', '\d{16}']
)",
                        env_of({{"AK", "AKID"}, {"SK", "topsecret"}}));
    ASSERT_TRUE(config) << config.error().message;
    const Logging& l = config->logging;
    EXPECT_TRUE(l.enabled);
    EXPECT_EQ(l.directory, "/var/log/sb");
    EXPECT_EQ(l.spool_dir, "/var/spool/sb");
    EXPECT_EQ(l.spool_max_bytes, std::size_t{2} << 30);
    EXPECT_EQ(l.spool_policy, LogSpoolPolicy::DropOldest);
    EXPECT_EQ(l.fsync_interval, 50ms);
    EXPECT_EQ(l.rotate_bytes, std::size_t{16} << 20);
    EXPECT_EQ(l.rotate_age, 300'000ms);
    EXPECT_EQ(l.queue_capacity, 1024);
    ASSERT_TRUE(l.s3);
    EXPECT_EQ(l.s3->bucket, "logs");
    EXPECT_EQ(l.s3->region, "eu-west-1");
    EXPECT_EQ(l.s3->prefix, "gw/");
    EXPECT_EQ(l.s3->access_key_id, "AKID");
    EXPECT_EQ(l.s3->secret_access_key, "topsecret");
    EXPECT_FALSE(l.s3->path_style);
    EXPECT_EQ(l.s3->timeout, 5000ms);
    EXPECT_TRUE(l.bodies.enabled);
    EXPECT_EQ(l.bodies.redact.size(), 2u);
}

TEST(ConfigLogging, RejectsUnknownKeysWithTheirPath) {
    EXPECT_THAT(error_of("logging:\n  enabeld: true\n"), HasSubstr("logging.enabeld: unknown key"));
    EXPECT_THAT(error_of("logging:\n  s3: {endpoint: 'http://x', bucket: b, access_key_id: a, "
                         "secret_access_key: s, bukket: c}\n"),
                HasSubstr("logging.s3.bukket: unknown key"));
    EXPECT_THAT(error_of("logging:\n  bodies: {enabled: true, redcat: []}\n"),
                HasSubstr("logging.bodies.redcat: unknown key"));
}

TEST(ConfigLogging, RejectsBadValues) {
    EXPECT_THAT(error_of("logging:\n  spool_policy: drop_everything\n"),
                HasSubstr("logging.spool_policy: must be one of refuse, drop_oldest, drop_new"));
    EXPECT_THAT(error_of("logging:\n  fsync_interval: soon\n"),
                HasSubstr("logging.fsync_interval: must be a duration"));
    EXPECT_THAT(error_of("logging:\n  spool_max_bytes: 10\n"),
                HasSubstr("logging.spool_max_bytes: must be a size"));
    EXPECT_THAT(error_of("logging:\n  bodies:\n    redact: ['ok', '(unclosed']\n"),
                HasSubstr("logging.bodies.redact[1]: is not a valid RE2 pattern"));
    EXPECT_THAT(error_of("logging:\n  bodies:\n    redact: 'sk-.*'\n"),
                HasSubstr("logging.bodies.redact: must be a list of RE2 patterns"));
    EXPECT_THAT(error_of("logging:\n  enabled: true\n  directory: ''\n"),
                HasSubstr("logging.directory: is empty and there is no s3 section"));
}

TEST(ConfigLogging, S3NeedsEndpointBucketAndKeysAndNeverEchoesTheSecret) {
    EXPECT_THAT(error_of("logging:\n  s3: {endpoint: 'ftp://x', bucket: b}\n"),
                HasSubstr("logging.s3.endpoint: must be an http:// or https:// URL"));
    EXPECT_THAT(error_of("logging:\n  s3: {endpoint: 'http://x', access_key_id: a, "
                         "secret_access_key: s}\n"),
                HasSubstr("logging.s3.bucket: is required"));
    const std::string e =
        error_of("logging:\n  s3: {endpoint: 'http://x', bucket: b, access_key_id: a}\n");
    EXPECT_THAT(e, HasSubstr("logging.s3.secret_access_key: is required"));
    const std::string typed = error_of(
        "logging:\n  s3: {endpoint: 'http://x', bucket: b, access_key_id: a, "
        "secret_access_key: [canary-secret-42]}\n");
    EXPECT_THAT(typed, HasSubstr("logging.s3.secret_access_key"));
    EXPECT_THAT(typed, Not(HasSubstr("canary-secret-42")));
    EXPECT_THAT(error_of("logging:\n  s3: {endpoint: 'http://x', bucket: b, access_key_id: "
                         "'${UNSET_AK}', secret_access_key: s}\n"),
                HasSubstr("logging.s3.access_key_id: environment variable UNSET_AK is not set"));
}

}  // namespace
}  // namespace sb::config
