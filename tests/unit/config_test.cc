#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace sb::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;

using Vars = std::map<std::string, std::string>;

EnvLookup env_of(Vars vars) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        const auto it = vars.find(std::string(name));
        if (it == vars.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

Config parse_ok(std::string_view yaml, Vars vars = {}) {
    auto config = parse(yaml, env_of(std::move(vars)));
    EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().message);
    return config ? std::move(*config) : Config{};
}

std::string parse_error(std::string_view yaml, Vars vars = {}) {
    auto config = parse(yaml, env_of(std::move(vars)));
    EXPECT_FALSE(config.has_value()) << "expected an error for:\n" << yaml;
    return config ? std::string() : config.error().message;
}

// A config whose `server:` section holds `server_entries` (indented by two spaces).
std::string with_server(std::string_view server_entries) {
    return "server:\n" + std::string(server_entries) + "\n";
}

// A provider named `p` of type openai-compatible, with `entries` appended to it.
std::string with_provider(std::string_view entries) {
    return "providers:\n  p:\n    type: openai-compatible\n    base_url: http://127.0.0.1:9/v1\n" +
           std::string(entries) + "\n";
}

// An absolute path from CMake: __FILE__ may be relative (ccache's base_dir rewrites it).
std::filesystem::path source_dir() {
    return std::filesystem::path(SB_SOURCE_DIR);
}

// ---------------------------------------------------------------------------------------------
// Valid configs and defaults

constexpr std::string_view kFullConfig = R"(
server:
  listen: "0.0.0.0:9090"
  workers: 4
  max_body_bytes: 16MiB
  max_header_bytes: 32KiB
  header_timeout: 5s
  idle_timeout: 2m
  drain_timeout: 250ms
  tls:
    listen: "[::1]:9443"
    cert_file: /etc/sb/cert.pem
    key_file: /etc/sb/key.pem
providers:
  openai:
    type: openai
    api_key: ${OPENAI_API_KEY}
    headers:
      OpenAI-Organization: org-123
      X-Title: demo
    timeouts:
      connect: 3s
      first_byte: 30s
      idle: 15s
      total: 5m
  local:
    type: openai-compatible
    base_url: http://localhost:11434/v1/
    api_key: ""
    auth_header: x-api-key
    auth_prefix: ""
    optional: true
models:
  gpt-4o-mini:
    provider: openai
  fast:
    provider: local
    model: llama3.2:3b
)";

TEST(ConfigParse, ReadsEveryServerKeyOfAFullConfig) {
    const Config c = parse_ok(kFullConfig, {{"OPENAI_API_KEY", "sk-test"}});
    EXPECT_EQ(c.server.host, "0.0.0.0");
    EXPECT_EQ(c.server.port, 9090);
    EXPECT_EQ(c.server.workers, 4);
    EXPECT_EQ(c.server.max_body_bytes, 16u << 20);
    EXPECT_EQ(c.server.max_header_bytes, 32u << 10);
    EXPECT_EQ(c.server.header_timeout, 5s);
    EXPECT_EQ(c.server.idle_timeout, 2min);
    EXPECT_EQ(c.server.drain_timeout, 250ms);
    ASSERT_TRUE(c.server.tls.has_value());
    EXPECT_EQ(c.server.tls->host, "::1");
    EXPECT_EQ(c.server.tls->port, 9443);
    EXPECT_EQ(c.server.tls->cert_file, "/etc/sb/cert.pem");
    EXPECT_EQ(c.server.tls->key_file, "/etc/sb/key.pem");
}

TEST(ConfigParse, ReadsEveryProviderKeyOfAFullConfig) {
    const Config c = parse_ok(kFullConfig, {{"OPENAI_API_KEY", "sk-test"}});
    ASSERT_EQ(c.providers.size(), 2u);
    const Provider& openai = c.providers[0];
    EXPECT_EQ(openai.name, "openai");
    EXPECT_EQ(openai.type, ProviderType::OpenAI);
    EXPECT_EQ(openai.base_url, "https://api.openai.com/v1");
    EXPECT_EQ(openai.api_key, "sk-test");
    EXPECT_EQ(openai.auth_header, "Authorization");
    EXPECT_EQ(openai.auth_prefix, "Bearer ");
    using Header = std::pair<std::string, std::string>;
    EXPECT_EQ(openai.headers,
              (std::vector<Header>{{"OpenAI-Organization", "org-123"}, {"X-Title", "demo"}}));
    EXPECT_EQ(openai.timeouts.connect, 3s);
    EXPECT_EQ(openai.timeouts.first_byte, 30s);
    EXPECT_EQ(openai.timeouts.idle, 15s);
    EXPECT_EQ(openai.timeouts.total, 5min);
    EXPECT_FALSE(openai.optional);
    EXPECT_TRUE(openai.enabled);

    const Provider& local = c.providers[1];
    EXPECT_EQ(local.type, ProviderType::OpenAICompatible);
    EXPECT_EQ(local.base_url, "http://localhost:11434/v1");
    EXPECT_EQ(local.api_key, "");
    EXPECT_EQ(local.auth_header, "x-api-key");
    EXPECT_EQ(local.auth_prefix, "");
    EXPECT_TRUE(local.optional);
    EXPECT_TRUE(local.enabled);
}

TEST(ConfigParse, ReadsModelsOfAFullConfigInFileOrder) {
    const Config c = parse_ok(kFullConfig, {{"OPENAI_API_KEY", "sk-test"}});
    ASSERT_EQ(c.models.size(), 2u);
    EXPECT_EQ(c.models[0].name, "gpt-4o-mini");
    EXPECT_EQ(c.models[0].targets.at(0).provider, "openai");
    EXPECT_EQ(c.models[0].targets.at(0).upstream_model, "gpt-4o-mini");
    EXPECT_EQ(c.models[1].name, "fast");
    EXPECT_EQ(c.models[1].targets.at(0).provider, "local");
    EXPECT_EQ(c.models[1].targets.at(0).upstream_model, "llama3.2:3b");
}

TEST(ConfigParse, EmptyDocumentGivesAllServerDefaults) {
    const Config c = parse_ok("");
    const Server defaults;
    EXPECT_EQ(c.server.host, "127.0.0.1");
    EXPECT_EQ(c.server.port, 8080);
    EXPECT_EQ(c.server.workers, 0);
    EXPECT_EQ(c.server.max_body_bytes, 32u << 20);
    EXPECT_EQ(c.server.max_header_bytes, 64u << 10);
    EXPECT_EQ(c.server.header_timeout, 10s);
    EXPECT_EQ(c.server.idle_timeout, 75s);
    EXPECT_EQ(c.server.drain_timeout, 30s);
    EXPECT_FALSE(c.server.tls.has_value());
    EXPECT_TRUE(c.providers.empty());
    EXPECT_TRUE(c.models.empty());
}

TEST(ConfigParse, CommentOnlyDocumentIsAnEmptyConfig) {
    const Config c = parse_ok("# nothing here\n");
    EXPECT_TRUE(c.providers.empty());
}

TEST(ConfigParse, EmptySectionsAreAllowed) {
    const Config c = parse_ok("server:\nproviders:\nmodels:\n");
    EXPECT_EQ(c.server.port, 8080);
    EXPECT_TRUE(c.providers.empty());
    EXPECT_TRUE(c.models.empty());
}

TEST(ConfigParse, ProviderGetsDefaultAuthAndTimeouts) {
    const Config c = parse_ok("providers:\n  openai:\n    type: openai\n");
    ASSERT_EQ(c.providers.size(), 1u);
    const Provider& p = c.providers[0];
    EXPECT_EQ(p.base_url, "https://api.openai.com/v1");
    EXPECT_EQ(p.api_key, "");
    EXPECT_EQ(p.auth_header, "Authorization");
    EXPECT_EQ(p.auth_prefix, "Bearer ");
    EXPECT_TRUE(p.headers.empty());
    EXPECT_EQ(p.timeouts.connect, 10s);
    EXPECT_EQ(p.timeouts.first_byte, 120s);
    EXPECT_EQ(p.timeouts.idle, 60s);
    EXPECT_EQ(p.timeouts.total, 10min);
    EXPECT_FALSE(p.optional);
    EXPECT_TRUE(p.enabled);
    EXPECT_EQ(p.disabled_reason, "");
}

TEST(ConfigParse, TypeOpenAIAcceptsACustomBaseUrl) {
    const Config c =
        parse_ok("providers:\n  o:\n    type: openai\n    base_url: https://proxy.example/v1\n");
    EXPECT_EQ(c.providers[0].base_url, "https://proxy.example/v1");
}

TEST(ConfigParse, UpstreamModelNameDefaultsToThePublicName) {
    const Config c = parse_ok(with_provider("") + "models:\n  my-model:\n    provider: p\n");
    ASSERT_EQ(c.models.size(), 1u);
    EXPECT_EQ(c.models[0].targets.at(0).upstream_model, "my-model");
}

TEST(ConfigParse, ProvidersWithoutModelsAreValid) {
    const Config c = parse_ok(with_provider("") + "models: {}\n");
    EXPECT_EQ(c.providers.size(), 1u);
    EXPECT_TRUE(c.models.empty());
}

TEST(ConfigParse, BaseUrlTrailingSlashesAreStripped) {
    const Config c =
        parse_ok("providers:\n  p:\n    type: openai-compatible\n    base_url: http://h:1/v1//\n");
    EXPECT_EQ(c.providers[0].base_url, "http://h:1/v1");
}

TEST(ConfigParse, BaseUrlSchemeIsLowercased) {
    const Config c =
        parse_ok("providers:\n  p:\n    type: openai-compatible\n    base_url: HTTPS://h/v1\n");
    EXPECT_EQ(c.providers[0].base_url, "https://h/v1");
}

TEST(ConfigParse, BaseUrlMayUseAnIPv6Host) {
    const Config c = parse_ok(
        "providers:\n  p:\n    type: openai-compatible\n    base_url: http://[::1]:8081/v1\n");
    EXPECT_EQ(c.providers[0].base_url, "http://[::1]:8081/v1");
}

TEST(ConfigParse, TlsListenDefaultsWhenOmitted) {
    const Config c = parse_ok(with_server("  tls:\n    cert_file: c.pem\n    key_file: k.pem"));
    ASSERT_TRUE(c.server.tls.has_value());
    EXPECT_EQ(c.server.tls->host, "127.0.0.1");
    EXPECT_EQ(c.server.tls->port, 8443);
}

TEST(ConfigParse, EmptyTlsMeansNoTlsListener) {
    const Config c = parse_ok(with_server("  tls:"));
    EXPECT_FALSE(c.server.tls.has_value());
}

TEST(ConfigParse, QuotedNumbersAreAccepted) {
    const Config c = parse_ok(with_server("  workers: \"3\""));
    EXPECT_EQ(c.server.workers, 3);
}

TEST(ConfigParse, FlowStyleMappingsAreAccepted) {
    const Config c = parse_ok(
        "providers: {p: {type: openai-compatible, base_url: 'http://h/v1', headers: {X-A: b}}}\n"
        "models: {m: {provider: p}}\n");
    ASSERT_EQ(c.providers.size(), 1u);
    EXPECT_EQ(c.providers[0].headers.size(), 1u);
    EXPECT_EQ(c.models.size(), 1u);
}

TEST(ConfigParse, YamlAliasesAreResolved) {
    const Config c = parse_ok(
        "providers:\n"
        "  a:\n    type: openai-compatible\n    base_url: http://a/v1\n"
        "    timeouts: &t {connect: 1s, first_byte: 2s, idle: 3s, total: 4s}\n"
        "  b:\n    type: openai-compatible\n    base_url: http://b/v1\n    timeouts: *t\n");
    EXPECT_EQ(c.providers[1].timeouts.total, 4s);
}

TEST(ConfigParse, OptionalAcceptsTrueAndFalse) {
    EXPECT_TRUE(parse_ok(with_provider("    optional: true")).providers[0].optional);
    EXPECT_FALSE(parse_ok(with_provider("    optional: false")).providers[0].optional);
}

TEST(ConfigParse, ErrorsUseCodeInternalAndCarryThePathAsParam) {
    auto config = parse(with_server("  workers: 999"), env_of({}));
    ASSERT_FALSE(config.has_value());
    EXPECT_EQ(config.error().code, ErrorCode::Internal);
    EXPECT_EQ(config.error().param, "server.workers");
}

// ---------------------------------------------------------------------------------------------
// Unknown keys

TEST(ConfigErrors, UnknownTopLevelKeyIsNamed) {
    EXPECT_THAT(parse_error("servers:\n  workers: 1\n"), StartsWith("servers: unknown key"));
}

TEST(ConfigErrors, UnknownServerKeyIsNamedWithItsPath) {
    EXPECT_THAT(parse_error(with_server("  listen_addr: x")),
                StartsWith("server.listen_addr: unknown key"));
}

TEST(ConfigErrors, UnknownKeyListsTheExpectedKeys) {
    EXPECT_THAT(parse_error(with_server("  wrkers: 1")), HasSubstr("workers"));
}

TEST(ConfigErrors, UnknownTlsKeyIsNamedWithItsPath) {
    EXPECT_THAT(parse_error(with_server("  tls:\n    cert_file: c\n    key_file: k\n    ca: x")),
                StartsWith("server.tls.ca: unknown key"));
}

TEST(ConfigErrors, UnknownProviderKeyIsNamedWithItsPath) {
    EXPECT_THAT(parse_error(with_provider("    apikey: x")),
                StartsWith("providers.p.apikey: unknown key"));
}

TEST(ConfigErrors, UnknownTimeoutKeyIsNamedWithItsPath) {
    EXPECT_THAT(parse_error(with_provider("    timeouts:\n      read: 1s")),
                StartsWith("providers.p.timeouts.read: unknown key"));
}

TEST(ConfigErrors, UnknownModelKeyIsNamedWithItsPath) {
    EXPECT_THAT(
        parse_error(with_provider("") + "models:\n  m:\n    provider: p\n    colour: red\n"),
        StartsWith("models.m.colour: unknown key"));
}

// ---------------------------------------------------------------------------------------------
// Structure

TEST(ConfigErrors, InvalidYamlNamesTheLine) {
    const std::string error = parse_error("server:\n  workers: [1\n");
    EXPECT_THAT(error, StartsWith("config: invalid YAML at line"));
}

TEST(ConfigErrors, MoreThanOneDocumentIsRejected) {
    EXPECT_THAT(parse_error("server: {}\n---\nserver: {}\n"),
                StartsWith("config: expected one YAML document, found more than one"));
}

TEST(ConfigErrors, TwoEmptyDocumentsAreMoreThanOne) {
    EXPECT_THAT(parse_error("---\n---\n"), HasSubstr("expected one YAML document"));
}

TEST(ConfigParse, ExplicitDocumentMarkersAreAccepted) {
    EXPECT_EQ(parse_ok("---\nserver: {workers: 5}\n...\n").server.workers, 5);
}

// yaml-cpp 0.7's LoadAll() loops forever, allocating, on this input (jbeder/yaml-cpp#1040).
TEST(ConfigErrors, LoneCommaIsInvalidYamlRatherThanAHang) {
    EXPECT_THAT(parse_error(","), StartsWith("config: invalid YAML at line 1, column 1"));
}

TEST(ConfigErrors, RootThatIsNotAMappingIsRejected) {
    EXPECT_THAT(parse_error("- a\n- b\n"), StartsWith("config: must be a mapping"));
}

TEST(ConfigErrors, SectionThatIsNotAMappingIsRejected) {
    EXPECT_THAT(parse_error("server: 8080\n"), StartsWith("server: must be a mapping"));
    EXPECT_THAT(parse_error("providers: [a]\n"), StartsWith("providers: must be a mapping"));
    EXPECT_THAT(parse_error("models: x\n"), StartsWith("models: must be a mapping"));
}

TEST(ConfigErrors, DuplicateTopLevelKeyIsRejected) {
    EXPECT_THAT(parse_error("server: {}\nserver: {}\n"),
                StartsWith("server: duplicate key (first at line 1, again at line 2)"));
}

TEST(ConfigErrors, DuplicateServerKeyIsRejected) {
    EXPECT_THAT(parse_error(with_server("  workers: 1\n  workers: 2")),
                StartsWith("server.workers: duplicate key"));
}

TEST(ConfigErrors, DuplicateProviderIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  a: {type: openai}\n  a: {type: openai}\n"),
                StartsWith("providers.a: duplicate key"));
}

TEST(ConfigErrors, DuplicateModelIsRejected) {
    EXPECT_THAT(
        parse_error(with_provider("") + "models:\n  m: {provider: p}\n  m: {provider: p}\n"),
        StartsWith("models.m: duplicate key"));
}

TEST(ConfigErrors, KeyThatIsNotAStringIsRejected) {
    EXPECT_THAT(parse_error("server:\n  ? [a, b]\n  : 1\n"),
                StartsWith("server: keys must be strings"));
}

// ---------------------------------------------------------------------------------------------
// server

TEST(ConfigErrors, WorkersAboveRangeIsRejectedWithTheRange) {
    EXPECT_THAT(parse_error(with_server("  workers: 257")),
                StartsWith("server.workers: must be an integer between 0 and 256"));
}

TEST(ConfigErrors, NegativeWorkersIsRejected) {
    EXPECT_THAT(parse_error(with_server("  workers: -1")),
                StartsWith("server.workers: must be an integer between 0 and 256"));
}

TEST(ConfigErrors, NonIntegerWorkersIsRejectedAndQuoted) {
    const std::string error = parse_error(with_server("  workers: 2.5"));
    EXPECT_THAT(error, StartsWith("server.workers: must be an integer between 0 and 256"));
    EXPECT_THAT(error, HasSubstr("(got \"2.5\")"));
}

TEST(ConfigErrors, WorkersGivenAsAListIsRejected) {
    EXPECT_THAT(parse_error(with_server("  workers: [1]")),
                StartsWith("server.workers: must be an integer between 0 and 256 (got a list)"));
}

TEST(ConfigErrors, EmptyWorkersIsRejected) {
    EXPECT_THAT(parse_error(with_server("  workers:")),
                StartsWith("server.workers: must be an integer"));
}

TEST(ConfigParse, WorkersBoundsAreAccepted) {
    EXPECT_EQ(parse_ok(with_server("  workers: 0")).server.workers, 0);
    EXPECT_EQ(parse_ok(with_server("  workers: 256")).server.workers, 256);
}

TEST(ConfigErrors, ZeroMaxBodyBytesIsRejected) {
    EXPECT_THAT(parse_error(with_server("  max_body_bytes: 0")),
                StartsWith("server.max_body_bytes: must be a size from 1 byte to 1GiB"));
}

TEST(ConfigErrors, MaxBodyBytesAboveOneGiBIsRejected) {
    EXPECT_THAT(parse_error(with_server("  max_body_bytes: 1025MiB")),
                StartsWith("server.max_body_bytes: must be a size"));
}

TEST(ConfigErrors, MaxHeaderBytesBelowOneKiBIsRejected) {
    EXPECT_THAT(parse_error(with_server("  max_header_bytes: 1023")),
                StartsWith("server.max_header_bytes: must be a size from 1KiB to 1MiB"));
}

TEST(ConfigErrors, MaxHeaderBytesAboveOneMiBIsRejected) {
    EXPECT_THAT(parse_error(with_server("  max_header_bytes: 2MiB")),
                StartsWith("server.max_header_bytes: must be a size from 1KiB to 1MiB"));
}

TEST(ConfigParse, SizeBoundsAreAccepted) {
    const Config c = parse_ok(with_server("  max_body_bytes: 1GiB\n  max_header_bytes: 1KiB"));
    EXPECT_EQ(c.server.max_body_bytes, std::size_t{1} << 30);
    EXPECT_EQ(c.server.max_header_bytes, 1024u);
}

TEST(ConfigErrors, ZeroServerTimeoutIsRejected) {
    EXPECT_THAT(parse_error(with_server("  header_timeout: 0")),
                StartsWith("server.header_timeout: must be a duration"));
    EXPECT_THAT(parse_error(with_server("  idle_timeout: 0s")),
                StartsWith("server.idle_timeout: must be a duration"));
    EXPECT_THAT(parse_error(with_server("  drain_timeout: 0ms")),
                StartsWith("server.drain_timeout: must be a duration"));
}

TEST(ConfigErrors, TlsWithoutCertFileIsRejected) {
    EXPECT_THAT(parse_error(with_server("  tls:\n    key_file: k.pem")),
                StartsWith("server.tls.cert_file: is required"));
}

TEST(ConfigErrors, TlsWithoutKeyFileIsRejected) {
    EXPECT_THAT(parse_error(with_server("  tls:\n    cert_file: c.pem")),
                StartsWith("server.tls.key_file: is required"));
}

TEST(ConfigErrors, TlsListenEqualToPlainListenIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: 127.0.0.1:9000\n  tls:\n    listen: "
                                        "127.0.0.1:9000\n    cert_file: c\n    key_file: k")),
                StartsWith("server.tls.listen: must differ from server.listen"));
}

TEST(ConfigParse, TlsAndPlainListenersMayBothUsePortZero) {
    const Config c =
        parse_ok(with_server("  listen: 127.0.0.1:0\n  tls:\n    listen: 127.0.0.1:0\n    "
                             "cert_file: c\n    key_file: k"));
    EXPECT_EQ(c.server.tls->port, 0);
}

TEST(ConfigErrors, BadTlsListenNamesItsPath) {
    EXPECT_THAT(
        parse_error(with_server("  tls:\n    listen: nope\n    cert_file: c\n    key_file: k")),
        StartsWith("server.tls.listen: must be host:port"));
}

// ---------------------------------------------------------------------------------------------
// listen

TEST(ConfigListen, HostAndPortAreSplit) {
    const Config c = parse_ok(with_server("  listen: 10.1.2.3:8000"));
    EXPECT_EQ(c.server.host, "10.1.2.3");
    EXPECT_EQ(c.server.port, 8000);
}

TEST(ConfigListen, HostNameIsAccepted) {
    const Config c = parse_ok(with_server("  listen: localhost:80"));
    EXPECT_EQ(c.server.host, "localhost");
    EXPECT_EQ(c.server.port, 80);
}

TEST(ConfigListen, BracketedIPv6HostIsStoredWithoutBrackets) {
    const Config c = parse_ok(with_server("  listen: \"[::1]:8080\""));
    EXPECT_EQ(c.server.host, "::1");
    EXPECT_EQ(c.server.port, 8080);
}

TEST(ConfigListen, IPv6AnyAddressIsAccepted) {
    const Config c = parse_ok(with_server("  listen: \"[::]:443\""));
    EXPECT_EQ(c.server.host, "::");
    EXPECT_EQ(c.server.port, 443);
}

TEST(ConfigListen, PortZeroIsAccepted) {
    EXPECT_EQ(parse_ok(with_server("  listen: 127.0.0.1:0")).server.port, 0);
}

TEST(ConfigListen, HighestPortIsAccepted) {
    EXPECT_EQ(parse_ok(with_server("  listen: 127.0.0.1:65535")).server.port, 65535);
}

TEST(ConfigListen, PortAbove65535IsRejected) {
    const std::string error = parse_error(with_server("  listen: 127.0.0.1:65536"));
    EXPECT_THAT(error, StartsWith("server.listen: port must be an integer between 0 and 65535"));
    EXPECT_THAT(error, HasSubstr("127.0.0.1:65536"));
}

TEST(ConfigListen, NonNumericPortIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: 127.0.0.1:http")),
                StartsWith("server.listen: port must be an integer"));
}

TEST(ConfigListen, EmptyPortIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: \"127.0.0.1:\"")),
                StartsWith("server.listen: port must be an integer"));
}

TEST(ConfigListen, MissingPortIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: 127.0.0.1")),
                StartsWith("server.listen: must be host:port"));
}

TEST(ConfigListen, EmptyHostIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: \":8080\"")),
                StartsWith("server.listen: host is empty"));
}

TEST(ConfigListen, UnbracketedIPv6IsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: \"::1:8080\"")),
                StartsWith("server.listen: an IPv6 address must be in brackets"));
}

TEST(ConfigListen, MissingClosingBracketIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: \"[::1:8080\"")),
                StartsWith("server.listen: missing ]"));
}

TEST(ConfigListen, BracketedNonIPv6IsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: \"[localhost]:8080\"")),
                StartsWith("server.listen: invalid IPv6 address"));
}

TEST(ConfigListen, BracketedIPv6WithoutPortIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: \"[::1]\"")),
                StartsWith("server.listen: must be host:port"));
}

TEST(ConfigListen, HostWithInvalidCharactersIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: \"my host:80\"")),
                StartsWith("server.listen: invalid host"));
}

// ---------------------------------------------------------------------------------------------
// Durations

struct DurationCase {
    std::string text;
    Millis expected;
};

class ConfigDuration : public ::testing::TestWithParam<DurationCase> {};

TEST_P(ConfigDuration, ParsesToMilliseconds) {
    const Config c = parse_ok(with_server("  header_timeout: " + GetParam().text));
    EXPECT_EQ(c.server.header_timeout, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Valid, ConfigDuration,
                         ::testing::Values(DurationCase{"10s", 10s}, DurationCase{"250ms", 250ms},
                                           DurationCase{"2m", 2min}, DurationCase{"1h", 1h},
                                           DurationCase{"1m30s", 90s}, DurationCase{"1500", 1500ms},
                                           DurationCase{"1", 1ms}, DurationCase{"24h", 24h},
                                           DurationCase{"\"5s\"", 5s}));

class ConfigBadDuration : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfigBadDuration, IsRejectedNamingThePath) {
    EXPECT_THAT(parse_error(with_provider("    timeouts:\n      idle: " + GetParam())),
                StartsWith("providers.p.timeouts.idle: must be a duration from 1ms to 24h"));
}

INSTANTIATE_TEST_SUITE_P(Invalid, ConfigBadDuration,
                         ::testing::Values("0", "0s", "10x", "s", "1.5s", "-1s", "-5", "25h",
                                           "\"\"", "10 s", "1m30", "99999999999999999999", "[1]",
                                           "{a: 1}"));

// ---------------------------------------------------------------------------------------------
// Sizes

struct SizeCase {
    std::string text;
    std::size_t expected;
};

class ConfigSize : public ::testing::TestWithParam<SizeCase> {};

TEST_P(ConfigSize, ParsesToBytes) {
    const Config c = parse_ok(with_server("  max_body_bytes: " + GetParam().text));
    EXPECT_EQ(c.server.max_body_bytes, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Valid, ConfigSize,
    ::testing::Values(SizeCase{"33554432", 33554432}, SizeCase{"32MiB", 32u << 20},
                      SizeCase{"64KiB", 64u << 10}, SizeCase{"1GiB", std::size_t{1} << 30},
                      SizeCase{"\"1 MiB\"", 1u << 20}, SizeCase{"500KB", 500'000},
                      SizeCase{"2MB", 2'000'000}, SizeCase{"1GB", 1'000'000'000},
                      SizeCase{"100B", 100}, SizeCase{"1", 1}));

class ConfigBadSize : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfigBadSize, IsRejectedNamingThePath) {
    EXPECT_THAT(parse_error(with_server("  max_body_bytes: " + GetParam())),
                StartsWith("server.max_body_bytes: must be a size"));
}

INSTANTIATE_TEST_SUITE_P(Invalid, ConfigBadSize,
                         ::testing::Values("0", "1TiB", "2GiB", "1.5MiB", "MiB", "-1", "32mib",
                                           "\"32 \"", "\"32  MiB\"", "99999999999999999999999",
                                           "18446744073709551615GiB", "[1]"));

// ---------------------------------------------------------------------------------------------
// providers

TEST(ConfigErrors, UnknownProviderTypeIsRejectedWithTheAlternatives) {
    EXPECT_THAT(
        parse_error("providers:\n  openai:\n    type: foo\n"),
        StartsWith("providers.openai.type: unknown provider type \"foo\" (expected "
                   "openai, openai-compatible, azure, anthropic, gemini, bedrock, vertex)"));
}

TEST(ConfigParse, AzureDefaultsToApiKeyHeaderAndAVersion) {
    const Config c = parse_ok(
        "providers:\n  az:\n    type: azure\n    base_url: https://res.openai.azure.com/openai\n"
        "    api_key: k\nmodels:\n  m: {provider: az, model: my-deployment}\n");
    const Provider& p = c.providers.at(0);
    EXPECT_EQ(p.type, ProviderType::Azure);
    EXPECT_EQ(p.auth_header, "api-key");
    EXPECT_EQ(p.auth_prefix, "");
    EXPECT_EQ(p.api_version, "2024-10-21");
}

TEST(ConfigParse, AzureKeepsAnExplicitBearerAuthAndVersion) {
    const Config c = parse_ok(
        "providers:\n  az:\n    type: azure\n    base_url: https://res.openai.azure.com/openai\n"
        "    api_key: tok\n    auth_header: Authorization\n    auth_prefix: \"Bearer \"\n"
        "    api_version: 2025-01-01-preview\n");
    const Provider& p = c.providers.at(0);
    EXPECT_EQ(p.auth_header, "Authorization");
    EXPECT_EQ(p.auth_prefix, "Bearer ");
    EXPECT_EQ(p.api_version, "2025-01-01-preview");
}

TEST(ConfigErrors, AzureNeedsABaseUrl) {
    EXPECT_THAT(parse_error("providers:\n  az:\n    type: azure\n"),
                StartsWith("providers.az.base_url: is required for type azure"));
}

TEST(ConfigErrors, ApiVersionIsOnlyForAzure) {
    EXPECT_THAT(parse_error("providers:\n  p:\n    type: openai\n    api_version: 2024-10-21\n"),
                StartsWith("providers.p.api_version: is only for type azure"));
}

TEST(ConfigErrors, ProviderWithoutTypeIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p:\n    base_url: http://h/v1\n"),
                StartsWith("providers.p.type: is required"));
}

TEST(ConfigErrors, ProviderThatIsNotAMappingIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p: openai\n"),
                StartsWith("providers.p: must be a mapping"));
}

TEST(ConfigErrors, EmptyProviderIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p:\n"), StartsWith("providers.p: must be a mapping"));
}

TEST(ConfigErrors, InvalidProviderNameIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  \"my provider\": {type: openai}\n"),
                StartsWith("providers.my provider: invalid provider name"));
}

TEST(ConfigParse, ProviderNameMayUseDotsDashesAndUnderscores) {
    EXPECT_EQ(parse_ok("providers:\n  Azure_east-1.v2: {type: openai}\n").providers[0].name,
              "Azure_east-1.v2");
}

TEST(ConfigErrors, OpenAICompatibleWithoutBaseUrlIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p:\n    type: openai-compatible\n"),
                StartsWith("providers.p.base_url: is required for type openai-compatible"));
}

TEST(ConfigErrors, BaseUrlWithoutHttpSchemeIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, base_url: ftp://h/v1}\n"),
                StartsWith("providers.p.base_url: must start with http:// or https://"));
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, base_url: api.openai.com/v1}\n"),
                StartsWith("providers.p.base_url: must start with http:// or https://"));
}

TEST(ConfigErrors, BaseUrlWithQueryIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, base_url: 'https://h/v1?x=1'}\n"),
                StartsWith("providers.p.base_url: must not have a query string or fragment"));
}

TEST(ConfigErrors, BaseUrlWithFragmentIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, base_url: 'https://h/v1#top'}\n"),
                StartsWith("providers.p.base_url: must not have a query string or fragment"));
}

TEST(ConfigErrors, BaseUrlWithCredentialsIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, base_url: 'https://u:pw@h/v1'}\n"),
                StartsWith("providers.p.base_url: must not contain credentials"));
}

TEST(ConfigErrors, BaseUrlWithoutHostIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, base_url: 'https:///v1'}\n"),
                StartsWith("providers.p.base_url: has no host"));
}

TEST(ConfigErrors, BaseUrlWithBadPortIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, base_url: 'http://h:99999/v1'}\n"),
                StartsWith("providers.p.base_url: has an invalid port"));
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, base_url: 'http://h:/v1'}\n"),
                StartsWith("providers.p.base_url: has an invalid port"));
}

TEST(ConfigErrors, BaseUrlWithSpaceIsRejected) {
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, base_url: 'http://h/a b'}\n"),
                StartsWith("providers.p.base_url: must not contain spaces"));
}

TEST(ConfigErrors, InvalidAuthHeaderNameIsRejected) {
    EXPECT_THAT(parse_error(with_provider("    auth_header: \"X Key\"")),
                StartsWith("providers.p.auth_header: must be a valid HTTP header name"));
}

TEST(ConfigErrors, AuthHeaderManagedByTheGatewayIsRejected) {
    EXPECT_THAT(parse_error(with_provider("    auth_header: Host")),
                StartsWith("providers.p.auth_header: \"Host\" is set by the gateway itself"));
}

TEST(ConfigErrors, AuthPrefixWithNewlineIsRejected) {
    EXPECT_THAT(parse_error(with_provider("    auth_prefix: \"Bearer\\r\\n\"")),
                StartsWith("providers.p.auth_prefix: must not contain CR, LF"));
}

TEST(ConfigErrors, InvalidHeaderNameIsRejected) {
    EXPECT_THAT(parse_error(with_provider("    headers:\n      \"X Title\": demo")),
                StartsWith("providers.p.headers.X Title: must be a valid HTTP header name"));
}

TEST(ConfigErrors, HeaderValueWithCrLfIsRejected) {
    EXPECT_THAT(parse_error(with_provider("    headers:\n      X-Title: \"a\\r\\nX-Evil: 1\"")),
                StartsWith("providers.p.headers.X-Title: must not contain CR, LF"));
}

TEST(ConfigErrors, HeaderValueThatIsAMappingIsRejected) {
    EXPECT_THAT(parse_error(with_provider("    headers:\n      X-Title: {a: b}")),
                StartsWith("providers.p.headers.X-Title: must be a string"));
}

TEST(ConfigErrors, FramingHeaderIsRejected) {
    EXPECT_THAT(parse_error(with_provider("    headers:\n      Content-Length: \"5\"")),
                StartsWith("providers.p.headers.Content-Length: is set by the gateway itself"));
}

TEST(ConfigErrors, HeadersDifferingOnlyInCaseAreRejected) {
    EXPECT_THAT(parse_error(with_provider("    headers:\n      X-Title: a\n      x-title: b")),
                StartsWith("providers.p.headers.x-title: duplicate header"));
}

TEST(ConfigErrors, HeaderThatRepeatsTheAuthHeaderIsRejectedWhenAKeyIsSet) {
    EXPECT_THAT(parse_error(with_provider("    api_key: k\n    headers:\n      authorization: x")),
                StartsWith("providers.p.headers.authorization: conflicts with auth_header"));
}

TEST(ConfigParse, AuthorizationHeaderMayBeSetByHandWithoutAKey) {
    const Config c = parse_ok(with_provider("    headers:\n      Authorization: Basic abc"));
    ASSERT_EQ(c.providers[0].headers.size(), 1u);
    EXPECT_EQ(c.providers[0].headers[0].second, "Basic abc");
}

TEST(ConfigErrors, OptionalThatIsNotABooleanIsRejected) {
    EXPECT_THAT(parse_error(with_provider("    optional: yes")),
                StartsWith("providers.p.optional: must be true or false (got \"yes\")"));
}

TEST(ConfigErrors, ApiKeyThatIsAListIsRejected) {
    EXPECT_THAT(parse_error(with_provider("    api_key: [a]")),
                StartsWith("providers.p.api_key: must be a string"));
}

TEST(ConfigErrors, EmptyApiKeyValueIsRejectedAsNotAString) {
    EXPECT_THAT(
        parse_error(with_provider("    api_key:")),
        StartsWith("providers.p.api_key: must be a string (write \"\" for an empty value)"));
}

TEST(ConfigErrors, ZeroProviderTimeoutIsRejected) {
    EXPECT_THAT(parse_error(with_provider("    timeouts:\n      connect: 0")),
                StartsWith("providers.p.timeouts.connect: must be a duration"));
}

TEST(ConfigErrors, TimeoutsThatAreNotAMappingAreRejected) {
    EXPECT_THAT(parse_error(with_provider("    timeouts: 10s")),
                StartsWith("providers.p.timeouts: must be a mapping"));
}

// ---------------------------------------------------------------------------------------------
// models

TEST(ConfigErrors, ModelWithUnknownProviderIsRejectedAtItsProviderKey) {
    const std::string error = parse_error(with_provider("") + "models:\n  m:\n    provider: q\n");
    EXPECT_THAT(error, StartsWith("models.m.provider: unknown provider \"q\""));
    EXPECT_THAT(error, HasSubstr("defined: p"));
}

TEST(ConfigErrors, ModelWithUnknownProviderAndNoProvidersSaysNone) {
    EXPECT_THAT(parse_error("models:\n  m:\n    provider: q\n"), HasSubstr("(defined: none)"));
}

TEST(ConfigErrors, ModelWithoutProviderIsRejected) {
    EXPECT_THAT(parse_error(with_provider("") + "models:\n  m:\n    model: x\n"),
                StartsWith("models.m.provider: is required"));
}

TEST(ConfigErrors, ModelThatIsNotAMappingIsRejected) {
    EXPECT_THAT(parse_error(with_provider("") + "models:\n  m: p\n"),
                StartsWith("models.m: must be a mapping"));
}

TEST(ConfigErrors, EmptyUpstreamModelNameIsRejected) {
    EXPECT_THAT(
        parse_error(with_provider("") + "models:\n  m:\n    provider: p\n    model: \"\"\n"),
        StartsWith("models.m.model: must be a non-empty model name"));
}

TEST(ConfigErrors, ModelNameWithSpaceIsRejected) {
    EXPECT_THAT(parse_error(with_provider("") + "models:\n  \"my model\": {provider: p}\n"),
                StartsWith("models.my model: invalid model name"));
}

TEST(ConfigParse, ModelNameMayContainSlashesAndColons) {
    const Config c = parse_ok(with_provider("") + "models:\n  meta/llama-3:8b: {provider: p}\n");
    EXPECT_EQ(c.models[0].name, "meta/llama-3:8b");
}

// ---------------------------------------------------------------------------------------------
// Environment expansion

TEST(ConfigEnv, VariableIsExpanded) {
    const Config c = parse_ok(with_server("  listen: 127.0.0.1:${PORT}"), {{"PORT", "9999"}});
    EXPECT_EQ(c.server.port, 9999);
}

TEST(ConfigEnv, DefaultIsUsedWhenTheVariableIsUnset) {
    const Config c = parse_ok(with_server("  listen: 127.0.0.1:${PORT:-8181}"));
    EXPECT_EQ(c.server.port, 8181);
}

TEST(ConfigEnv, DefaultIsUsedWhenTheVariableIsEmpty) {
    const Config c = parse_ok(with_server("  listen: 127.0.0.1:${PORT:-8181}"), {{"PORT", ""}});
    EXPECT_EQ(c.server.port, 8181);
}

TEST(ConfigEnv, DefaultIsIgnoredWhenTheVariableIsSet) {
    const Config c = parse_ok(with_server("  listen: 127.0.0.1:${PORT:-8181}"), {{"PORT", "7000"}});
    EXPECT_EQ(c.server.port, 7000);
}

TEST(ConfigEnv, EmptyDefaultIsAllowed) {
    const Config c = parse_ok(with_provider("    api_key: \"${KEY:-}\""));
    EXPECT_EQ(c.providers[0].api_key, "");
    EXPECT_TRUE(c.providers[0].enabled);
}

TEST(ConfigEnv, DefaultMayContainAnotherVariable) {
    const Config c =
        parse_ok(with_server("  listen: ${LISTEN:-127.0.0.1:${PORT:-8282}}"), {{"PORT", "8383"}});
    EXPECT_EQ(c.server.port, 8383);
}

TEST(ConfigEnv, NestedDefaultsFallBackToTheInnermost) {
    const Config c = parse_ok(with_server("  listen: ${LISTEN:-127.0.0.1:${PORT:-8282}}"));
    EXPECT_EQ(c.server.port, 8282);
}

TEST(ConfigEnv, SeveralVariablesInOneValueAreExpanded) {
    const Config c =
        parse_ok(with_server("  listen: ${HOST}:${PORT}"), {{"HOST", "0.0.0.0"}, {"PORT", "1234"}});
    EXPECT_EQ(c.server.host, "0.0.0.0");
    EXPECT_EQ(c.server.port, 1234);
}

TEST(ConfigEnv, DoubleDollarIsALiteralDollar) {
    const Config c = parse_ok(with_provider("    api_key: \"a$$b$${NOT_A_VAR}\""));
    EXPECT_EQ(c.providers[0].api_key, "a$b${NOT_A_VAR}");
}

TEST(ConfigEnv, LoneDollarIsKept) {
    const Config c = parse_ok(with_provider("    api_key: \"cost$5 $\""));
    EXPECT_EQ(c.providers[0].api_key, "cost$5 $");
}

TEST(ConfigEnv, ExpandedValueIsNotExpandedAgain) {
    const Config c = parse_ok(with_provider("    api_key: ${KEY}"), {{"KEY", "x${OTHER}$$y"}});
    EXPECT_EQ(c.providers[0].api_key, "x${OTHER}$$y");
}

TEST(ConfigEnv, VariableInsideQuotedHeaderValueIsExpanded) {
    const Config c =
        parse_ok(with_provider("    headers:\n      X-Title: \"app-${ENV}\""), {{"ENV", "prod"}});
    EXPECT_EQ(c.providers[0].headers[0].second, "app-prod");
}

TEST(ConfigEnv, VariableInAnIntegerFieldIsExpandedBeforeParsing) {
    const Config c = parse_ok(with_server("  workers: ${WORKERS:-3}"));
    EXPECT_EQ(c.server.workers, 3);
}

TEST(ConfigEnv, ExpandedValueIsStillValidated) {
    EXPECT_THAT(parse_error(with_server("  workers: ${WORKERS}"), {{"WORKERS", "lots"}}),
                StartsWith("server.workers: must be an integer between 0 and 256 (got \"lots\")"));
}

TEST(ConfigEnv, UnterminatedExpressionIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: ${PORT")),
                StartsWith("server.listen: unterminated ${"));
}

TEST(ConfigEnv, UnterminatedDefaultIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: \"${PORT:-80\"")),
                StartsWith("server.listen: unterminated ${PORT:-...}"));
}

TEST(ConfigEnv, InvalidVariableNameIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: ${1PORT}")),
                StartsWith("server.listen: invalid ${...} expression"));
    EXPECT_THAT(parse_error(with_server("  listen: ${}")),
                StartsWith("server.listen: invalid ${...} expression"));
}

TEST(ConfigEnv, UnsupportedOperatorIsRejected) {
    EXPECT_THAT(parse_error(with_server("  listen: ${PORT:?required}")),
                StartsWith("server.listen: unsupported ${PORT...} expression"));
}

TEST(ConfigEnv, UnsetVariableInServerIsAnError) {
    EXPECT_EQ(parse_error(with_server("  listen: 127.0.0.1:${SB_PORT}")),
              "server.listen: environment variable SB_PORT is not set");
}

TEST(ConfigEnv, UnsetVariableInAModelIsAnError) {
    EXPECT_THAT(
        parse_error(with_provider("") + "models:\n  m:\n    provider: p\n    model: ${M}\n"),
        StartsWith("models.m.model: environment variable M is not set"));
}

TEST(ConfigEnv, VariablesInKeysAreNotExpanded) {
    const Config c = parse_ok(with_provider("") + "models:\n  ${NAME}: {provider: p}\n");
    EXPECT_EQ(c.models[0].name, "${NAME}");
}

constexpr std::string_view kOptionalProvider = R"(
providers:
  mock:
    type: openai-compatible
    base_url: http://127.0.0.1:9/v1
  openai:
    type: openai
    api_key: ${OPENAI_API_KEY}
    optional: true
models:
  local: {provider: mock}
  gpt-4o: {provider: openai}
  gpt-4o-mini: {provider: openai}
)";

TEST(ConfigEnv, OptionalProviderWithUnsetVariableIsDisabled) {
    const Config c = parse_ok(kOptionalProvider);
    const Provider* openai = c.find_provider("openai");
    ASSERT_NE(openai, nullptr);
    EXPECT_FALSE(openai->enabled);
    EXPECT_EQ(openai->disabled_reason, "environment variable OPENAI_API_KEY is not set");
}

TEST(ConfigEnv, ModelsOfADisabledProviderAreDropped) {
    const Config c = parse_ok(kOptionalProvider);
    ASSERT_EQ(c.models.size(), 1u);
    EXPECT_EQ(c.models[0].name, "local");
}

TEST(ConfigEnv, OptionalProviderWithItsVariableSetIsEnabled) {
    const Config c = parse_ok(kOptionalProvider, {{"OPENAI_API_KEY", "sk-1"}});
    EXPECT_TRUE(c.find_provider("openai")->enabled);
    EXPECT_EQ(c.find_provider("openai")->api_key, "sk-1");
    EXPECT_EQ(c.models.size(), 3u);
}

TEST(ConfigEnv, OptionalProviderWithUnsetVariableInBaseUrlIsDisabledNotInvalid) {
    const Config c = parse_ok(
        "providers:\n  p:\n    type: openai-compatible\n    base_url: ${P_URL}\n    optional: "
        "true\n"
        "models:\n  m: {provider: p}\n");
    EXPECT_FALSE(c.providers[0].enabled);
    EXPECT_EQ(c.providers[0].disabled_reason, "environment variable P_URL is not set");
    EXPECT_TRUE(c.models.empty());
}

TEST(ConfigEnv, OptionalProviderIsStillValidated) {
    EXPECT_THAT(parse_error("providers:\n  p:\n    type: openai\n    api_key: ${K}\n"
                            "    optional: true\n    timeouts: {idle: 0}\n"),
                StartsWith("providers.p.timeouts.idle: must be a duration"));
}

TEST(ConfigEnv, RequiredProviderWithUnsetVariableUsedByAModelIsAnError) {
    const std::string error = parse_error(
        "providers:\n  openai:\n    type: openai\n    api_key: ${OPENAI_API_KEY}\n"
        "models:\n  gpt-4o: {provider: openai}\n");
    EXPECT_THAT(error, StartsWith("providers.openai.api_key: environment variable OPENAI_API_KEY "
                                  "is not set"));
    EXPECT_THAT(error, HasSubstr("gpt-4o"));
}

TEST(ConfigEnv, UnsetVariableInAHeaderOfAUsedProviderNamesTheHeaderPath) {
    EXPECT_THAT(parse_error(with_provider("    headers:\n      X-Org: ${ORG}") +
                            "models:\n  m: {provider: p}\n"),
                StartsWith("providers.p.headers.X-Org: environment variable ORG is not set"));
}

TEST(ConfigEnv, UnusedProviderWithUnsetVariableIsAccepted) {
    const Config c =
        parse_ok("providers:\n  openai:\n    type: openai\n    api_key: ${OPENAI_API_KEY}\n");
    ASSERT_EQ(c.providers.size(), 1u);
    EXPECT_FALSE(c.providers[0].enabled);
    EXPECT_EQ(c.providers[0].disabled_reason, "environment variable OPENAI_API_KEY is not set");
}

TEST(ConfigEnv, FirstUnsetVariableOfAProviderIsReported) {
    const Config c = parse_ok(
        "providers:\n  p:\n    type: openai\n    api_key: ${A}\n    headers: {X-B: '${B}'}\n");
    EXPECT_EQ(c.providers[0].disabled_reason, "environment variable A is not set");
}

// ---------------------------------------------------------------------------------------------
// Secrets

constexpr std::string_view kSecret = "sk-SECRET-1234567890";

TEST(ConfigSecrets, ApiKeyWithNewlineIsRejectedWithoutShowingIt) {
    const std::string error =
        parse_error(with_provider("    api_key: ${KEY}"), {{"KEY", std::string(kSecret) + "\n"}});
    EXPECT_THAT(error, StartsWith("providers.p.api_key: must not contain CR, LF"));
    EXPECT_THAT(error, Not(HasSubstr(kSecret)));
}

TEST(ConfigSecrets, HeaderValueIsNeverShown) {
    const std::string error = parse_error(
        with_provider("    headers:\n      X-Key: \"" + std::string(kSecret) + "\\n\""));
    EXPECT_THAT(error, StartsWith("providers.p.headers.X-Key:"));
    EXPECT_THAT(error, Not(HasSubstr(kSecret)));
}

TEST(ConfigSecrets, BaseUrlIsNeverShown) {
    const std::string error = parse_error(
        "providers:\n  p: {type: openai, base_url: 'https://h/v1?key=" + std::string(kSecret) +
        "'}\n");
    EXPECT_THAT(error, StartsWith("providers.p.base_url:"));
    EXPECT_THAT(error, Not(HasSubstr(kSecret)));
}

TEST(ConfigSecrets, MalformedExpressionInApiKeyIsNotShown) {
    const std::string error =
        parse_error(with_provider("    api_key: \"" + std::string(kSecret) + "${\""));
    EXPECT_THAT(error, StartsWith("providers.p.api_key: unterminated ${"));
    EXPECT_THAT(error, Not(HasSubstr(kSecret)));
}

TEST(ConfigSecrets, ResolvedKeyIsNotInAnotherErrorOfTheSameProvider) {
    const std::string error =
        parse_error("providers:\n  p:\n    type: openai\n    api_key: ${KEY}\n    type2: x\n",
                    {{"KEY", std::string(kSecret)}});
    EXPECT_THAT(error, StartsWith("providers.p.type2: unknown key"));
    EXPECT_THAT(error, Not(HasSubstr(kSecret)));
}

TEST(ConfigSecrets, UnsetKeyErrorNamesTheVariableNotAValue) {
    const std::string error =
        parse_error("providers:\n  p:\n    type: openai\n    api_key: ${KEY}\n    headers: {X-A: " +
                        std::string(kSecret) + "}\nmodels:\n  m: {provider: p}\n",
                    {});
    EXPECT_THAT(error, HasSubstr("KEY"));
    EXPECT_THAT(error, Not(HasSubstr(kSecret)));
}

// ---------------------------------------------------------------------------------------------
// Snapshot, lookups, process_env, load_file

TEST(ConfigTypes, ProviderTypeNamesMatchTheConfigSpelling) {
    EXPECT_EQ(to_string(ProviderType::OpenAI), "openai");
    EXPECT_EQ(to_string(ProviderType::OpenAICompatible), "openai-compatible");
    EXPECT_EQ(to_string(ProviderType::Azure), "azure");
    EXPECT_EQ(to_string(ProviderType::Anthropic), "anthropic");
    EXPECT_EQ(to_string(ProviderType::Gemini), "gemini");
    EXPECT_EQ(to_string(ProviderType::Bedrock), "bedrock");
    EXPECT_EQ(to_string(ProviderType::Vertex), "vertex");
}

TEST(ConfigParse, AnthropicAndGeminiDefaultTheirBaseUrls) {
    const Config c = parse_ok(
        "providers:\n  a: {type: anthropic, api_key: k}\n  g: {type: gemini, api_key: k}\n");
    EXPECT_EQ(c.providers.at(0).base_url, "https://api.anthropic.com/v1");
    EXPECT_EQ(c.providers.at(1).base_url, "https://generativelanguage.googleapis.com/v1beta");
}

TEST(ConfigParse, BedrockTakesRegionAndCredentials) {
    const Config c = parse_ok(
        "providers:\n  b:\n    type: bedrock\n    region: eu-west-1\n"
        "    access_key_id: AKIDEXAMPLE\n    secret_access_key: s3cr3t\n");
    const Provider& p = c.providers.at(0);
    EXPECT_EQ(p.region, "eu-west-1");
    EXPECT_EQ(p.access_key_id, "AKIDEXAMPLE");
    EXPECT_EQ(p.secret_access_key, "s3cr3t");
    EXPECT_TRUE(p.base_url.empty());
}

TEST(ConfigErrors, BedrockNeedsARegionAndBothKeys) {
    EXPECT_THAT(parse_error("providers:\n  b: {type: bedrock}\n"),
                StartsWith("providers.b.region: is required for type bedrock"));
    std::string err = parse_error(
        "providers:\n  b: {type: bedrock, region: us-east-1, secret_access_key: TOPSECRET}\n");
    EXPECT_THAT(err, StartsWith("providers.b.access_key_id: "));
    EXPECT_EQ(err.find("TOPSECRET"), std::string::npos);
}

TEST(ConfigParse, VertexTakesProjectLocationAndAKeyFile) {
    const Config c = parse_ok(
        "providers:\n  v:\n    type: vertex\n    project: my-project-1\n"
        "    location: europe-west4\n    credentials_file: /etc/sa.json\n"
        "  g: {type: vertex, project: p, location: global, api_key: ya29.static}\n");
    const Provider& p = c.providers.at(0);
    EXPECT_EQ(p.type, ProviderType::Vertex);
    EXPECT_EQ(p.project, "my-project-1");
    EXPECT_EQ(p.location, "europe-west4");
    EXPECT_EQ(p.credentials_file, "/etc/sa.json");
    EXPECT_EQ(p.base_url, "https://europe-west4-aiplatform.googleapis.com");
    EXPECT_EQ(c.providers.at(1).base_url, "https://aiplatform.googleapis.com");
}

TEST(ConfigErrors, VertexNeedsProjectLocationAndCredentials) {
    EXPECT_THAT(parse_error("providers:\n  v: {type: vertex, location: us-central1, "
                            "credentials_file: /x}\n"),
                StartsWith("providers.v.project: is required for type vertex"));
    EXPECT_THAT(parse_error("providers:\n  v: {type: vertex, project: p, credentials_file: /x}\n"),
                StartsWith("providers.v.location: is required for type vertex"));
    EXPECT_THAT(parse_error("providers:\n  v: {type: vertex, project: p, location: l}\n"),
                StartsWith("providers.v.credentials_file: is required for type vertex"));
    EXPECT_THAT(parse_error("providers:\n  v: {type: vertex, project: P!, location: l, "
                            "api_key: t}\n"),
                StartsWith("providers.v.project: must be a Google Cloud project id"));
    EXPECT_THAT(parse_error("providers:\n  v: {type: vertex, project: p, location: l, "
                            "credentials_file: /x, api_key: t}\n"),
                StartsWith("providers.v.api_key: cannot be combined with credentials_file"));
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, project: x}\n"),
                StartsWith("providers.p: project, location and credentials_file are only for "
                           "type vertex"));
}

TEST(ConfigErrors, AwsFieldsAreOnlyForBedrock) {
    EXPECT_THAT(parse_error("providers:\n  p: {type: openai, region: us-east-1}\n"),
                StartsWith("providers.p: region, access_key_id"));
}

TEST(ConfigTypes, FindProviderReturnsNullForAnUnknownName) {
    const Config c = parse_ok(with_provider(""));
    EXPECT_NE(c.find_provider("p"), nullptr);
    EXPECT_EQ(c.find_provider("q"), nullptr);
}

constexpr std::string_view kTwoProviders = R"(
providers:
  a: {type: openai-compatible, base_url: "http://a/v1"}
  b: {type: openai-compatible, base_url: "http://b/v1"}
models:
  m1: {provider: a}
  m2: {provider: b, model: upstream-2}
)";

TEST(ConfigSnapshot, FindModelReturnsTheModelByPublicName) {
    const Snapshot s(parse_ok(kTwoProviders));
    const Model* m = s.find_model("m2");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->targets.at(0).upstream_model, "upstream-2");
}

TEST(ConfigSnapshot, FindModelReturnsNullWhenAbsent) {
    const Snapshot s(parse_ok(kTwoProviders));
    EXPECT_EQ(s.find_model("nope"), nullptr);
    EXPECT_EQ(s.find_model(""), nullptr);
}

TEST(ConfigSnapshot, ProviderOfReturnsTheTargetsProvider) {
    const Snapshot s(parse_ok(kTwoProviders));
    EXPECT_EQ(s.provider_of(s.find_model("m1")->targets.at(0)).name, "a");
    EXPECT_EQ(s.provider_of(s.find_model("m2")->targets.at(0)).base_url, "http://b/v1");
}

TEST(ConfigSnapshot, KeepsTheConfigItWasBuiltFrom) {
    const Snapshot s(parse_ok(kTwoProviders));
    EXPECT_EQ(s.config().providers.size(), 2u);
    EXPECT_EQ(s.config().models.size(), 2u);
}

TEST(ConfigSnapshot, HandBuiltModelOfADisabledProviderIsNotServed) {
    Config c;
    Provider p;
    p.name = "off";
    p.enabled = false;
    c.providers.push_back(p);
    auto model = [](std::string name, std::string provider) {
        Model m;
        m.name = name;
        Target t;
        t.provider = std::move(provider);
        t.upstream_model = std::move(name);
        m.targets.push_back(std::move(t));
        return m;
    };
    c.models.push_back(model("m", "off"));
    c.models.push_back(model("orphan", "missing"));
    const Snapshot s(std::move(c));
    EXPECT_EQ(s.find_model("m"), nullptr);
    EXPECT_EQ(s.find_model("orphan"), nullptr);
}

TEST(ConfigEnvLookup, ProcessEnvReadsTheEnvironment) {
    ASSERT_EQ(::setenv("SB_CONFIG_TEST_VARIABLE", "value-1", 1), 0);
    const EnvLookup env = process_env();
    EXPECT_EQ(env("SB_CONFIG_TEST_VARIABLE"), std::optional<std::string>("value-1"));
    ::unsetenv("SB_CONFIG_TEST_VARIABLE");
    EXPECT_EQ(env("SB_CONFIG_TEST_VARIABLE"), std::nullopt);
}

class ConfigFile : public ::testing::Test {
  protected:
    void TearDown() override { std::filesystem::remove(path_); }

    std::string write(std::string_view text) {
        std::ofstream(path_) << text;
        return path_.string();
    }

    std::filesystem::path path_ = std::filesystem::path(::testing::TempDir()) /
                                  ("sb_config_test_" + std::to_string(::getpid()) + ".yaml");
};

TEST_F(ConfigFile, LoadFileParsesTheFile) {
    const auto config = load_file(write(with_server("  workers: 7")), env_of({}));
    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_EQ(config->server.workers, 7);
}

TEST_F(ConfigFile, LoadFileReportsParseErrorsWithThePath) {
    const auto config = load_file(write(with_server("  workers: 700")), env_of({}));
    ASSERT_FALSE(config.has_value());
    EXPECT_THAT(config.error().message, StartsWith("server.workers:"));
}

TEST_F(ConfigFile, MissingFileIsAnErrorNamingTheFile) {
    const auto config = load_file("/nonexistent/sb/config.yaml", env_of({}));
    ASSERT_FALSE(config.has_value());
    EXPECT_THAT(config.error().message, HasSubstr("/nonexistent/sb/config.yaml"));
    EXPECT_THAT(config.error().message, HasSubstr("No such file"));
}

TEST_F(ConfigFile, DirectoryIsAnErrorNamingIt) {
    const auto config = load_file(::testing::TempDir(), env_of({}));
    ASSERT_FALSE(config.has_value());
    EXPECT_THAT(config.error().message, HasSubstr("cannot read config file"));
}

// ---------------------------------------------------------------------------------------------
// Shipped configs

TEST(ShippedConfigs, QuickstartServesOnlyTheMockWithoutKeys) {
    const auto config = load_file((source_dir() / "config/quickstart.yaml").string(), env_of({}));
    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_EQ(config->server.host, "127.0.0.1");
    EXPECT_EQ(config->server.port, 8080);
    const Provider* mock = config->find_provider("mock");
    ASSERT_NE(mock, nullptr);
    EXPECT_EQ(mock->base_url, "http://127.0.0.1:8081/v1");
    EXPECT_FALSE(config->find_provider("openai")->enabled);
    EXPECT_FALSE(config->find_provider("anthropic")->enabled);
    const Snapshot s(*config);
    ASSERT_NE(s.find_model("mock-gpt"), nullptr);
    EXPECT_EQ(s.find_model("mock-gpt")->targets.at(0).upstream_model, "gpt-4o-mini");
    ASSERT_NE(s.find_model("mock-embed"), nullptr);
    EXPECT_EQ(s.find_model("mock-embed")->targets.at(0).upstream_model, "text-embedding-3-small");
    EXPECT_EQ(s.find_model("gpt-4o"), nullptr);
    EXPECT_EQ(s.find_model("claude-sonnet-4-5"), nullptr);
}

TEST(ShippedConfigs, QuickstartHonoursPortsAndKeysFromTheEnvironment) {
    const auto config = load_file((source_dir() / "config/quickstart.yaml").string(),
                                  env_of({{"SB_PORT", "0"},
                                          {"SB_MOCK_PORT", "9999"},
                                          {"OPENAI_API_KEY", "sk-o"},
                                          {"ANTHROPIC_API_KEY", "sk-a"}}));
    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_EQ(config->server.port, 0);
    EXPECT_EQ(config->find_provider("mock")->base_url, "http://127.0.0.1:9999/v1");
    const Snapshot s(*config);
    for (const char* name : {"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"}) {
        ASSERT_NE(s.find_model(name), nullptr) << name;
        EXPECT_EQ(s.provider_of(s.find_model(name)->targets.at(0)).name, "openai");
    }
    ASSERT_NE(s.find_model("claude-sonnet-4-5"), nullptr);
    const Provider& anthropic = s.provider_of(s.find_model("claude-sonnet-4-5")->targets.at(0));
    EXPECT_EQ(anthropic.base_url, "https://api.anthropic.com/v1");
    EXPECT_EQ(anthropic.api_key, "sk-a");
}

TEST(ShippedConfigs, ExampleFullParsesWithItsVariablesSet) {
    const auto config = load_file(
        (source_dir() / "config/example-full.yaml").string(),
        env_of(
            {{"OPENAI_API_KEY", "sk-o"}, {"ANTHROPIC_API_KEY", "sk-a"}, {"GROQ_API_KEY", "gsk"}}));
    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_TRUE(config->server.tls.has_value());
    EXPECT_FALSE(config->models.empty());
}

}  // namespace
}  // namespace sb::config
