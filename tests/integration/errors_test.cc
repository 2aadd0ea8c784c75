// Integration: every request-side limit and every upstream failure gets the documented error.
#include <boost/json.hpp>

#include "integration/gateway_fixture.h"

namespace sb::test {
namespace {

namespace json = boost::json;

const std::string kChat = R"({"model":"mock-gpt","messages":[{"role":"user","content":"Hi"}]})";

std::string chat_for(const std::string& model, bool stream = false) {
    return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
           R"(,"messages":[{"role":"user","content":"Hi"}]})";
}

// Asserts the OpenAI error shape and returns the `error` object.
json::object expect_error(const HttpResponse& r, int status, const std::string& type) {
    EXPECT_EQ(r.status, status) << r.body;
    json::value v;
    try {
        v = json::parse(r.body);
    } catch (const std::exception&) {
        ADD_FAILURE() << "not JSON: " << r.body;
        return {};
    }
    auto& e = v.at("error").as_object();
    EXPECT_TRUE(e.at("message").is_string());
    EXPECT_EQ(e.at("type").as_string(), type) << r.body;
    EXPECT_TRUE(e.contains("param"));
    EXPECT_TRUE(e.contains("code"));
    EXPECT_FALSE(r.header("x-request-id").empty());
    EXPECT_FALSE(r.header("x-switchboard-overhead-ms").empty());
    return e;
}

// The `data:` payloads of an SSE body.
std::vector<std::string> sse_data(const std::string& body) {
    std::vector<std::string> out;
    std::size_t p = 0;
    while ((p = body.find("data: ", p)) != std::string::npos) {
        auto e = body.find("\n\n", p);
        out.push_back(body.substr(p + 6, e - p - 6));
        p = e;
    }
    return out;
}

using ErrorsTest = GatewayFixture;

TEST_F(ErrorsTest, MalformedJsonIs400) {
    start();
    auto e = expect_error(post("/v1/chat/completions", R"({"model":"mock-gpt",)"), 400,
                          "invalid_request_error");
    EXPECT_EQ(e.at("code").as_string(), "invalid_json");
}

TEST_F(ErrorsTest, WrongFieldTypeNamesTheParameter) {
    start();
    auto e = expect_error(post("/v1/chat/completions", R"({"model":"mock-gpt","messages":"hi"})"),
                          400, "invalid_request_error");
    EXPECT_EQ(e.at("param").as_string(), "messages");
    e = expect_error(
        post("/v1/chat/completions", R"({"model":"mock-gpt","messages":[],"stream":"yes"})"), 400,
        "invalid_request_error");
    EXPECT_EQ(e.at("param").as_string(), "stream");
    e = expect_error(post("/v1/chat/completions", R"({"messages":[]})"), 400,
                     "invalid_request_error");
    EXPECT_EQ(e.at("param").as_string(), "model");
}

TEST_F(ErrorsTest, DuplicateModelKeyIsRefused) {
    start();
    auto e = expect_error(
        post("/v1/chat/completions", R"({"model":"mock-gpt","messages":[],"mod\u0065l":"x"})"), 400,
        "invalid_request_error");
    EXPECT_EQ(e.at("param").as_string(), "model");
}

TEST_F(ErrorsTest, UnknownModelIs404ModelNotFound) {
    start();
    auto e = expect_error(post("/v1/chat/completions", chat_for("gpt-nope")), 404,
                          "invalid_request_error");
    EXPECT_EQ(e.at("code").as_string(), "model_not_found");
}

TEST_F(ErrorsTest, WrongMethodIs405WithAllow) {
    start();
    auto r = http_request(port(), "GET", "/v1/chat/completions");
    expect_error(r, 405, "invalid_request_error");
    EXPECT_EQ(r.header("allow"), "POST");
}

TEST_F(ErrorsTest, UnknownPathIs404) {
    start();
    expect_error(http_request(port(), "GET", "/v2/whatever"), 404, "invalid_request_error");
}

TEST_F(ErrorsTest, HeadOver64KiBIs431) {
    start();
    std::string big(70 * 1024, 'a');
    auto r = post("/v1/chat/completions", kChat, "X-Big: " + big + "\r\n");
    expect_error(r, 431, "invalid_request_error");
}

TEST_F(ErrorsTest, BodyOverCapIs413) {
    start("  max_body_bytes: 1KiB\n");
    std::string body = R"({"model":"mock-gpt","messages":[{"role":"user","content":")" +
                       std::string(2000, 'x') + R"("}]})";
    expect_error(post("/v1/chat/completions", body), 413, "invalid_request_error");
    // Chunked bodies are cut at the cap too.
    RawConnection c(port());
    c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
           [&] {
               char size[16];
               std::snprintf(size, sizeof(size), "%zx\r\n", body.size());
               return std::string(size) + body + "\r\n0\r\n\r\n";
           }());
    expect_error(c.read_response(), 413, "invalid_request_error");
}

TEST_F(ErrorsTest, ContentLengthWithTransferEncodingIs400) {
    start();
    RawConnection c(port());
    c.send(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    auto r = c.read_response();
    expect_error(r, 400, "invalid_request_error");
    EXPECT_TRUE(c.wait_closed(std::chrono::seconds(5)));
}

TEST_F(ErrorsTest, SlowHeadIs408AndClosed) {
    start("  header_timeout: 200ms\n");
    RawConnection c(port());
    c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n");  // never finishes the head
    auto r = c.read_response(std::chrono::seconds(5));
    expect_error(r, 408, "invalid_request_error");
    EXPECT_TRUE(c.wait_closed(std::chrono::seconds(5)));
}

TEST_F(ErrorsTest, GarbageHeadIs400) {
    start();
    RawConnection c(port());
    c.send("HELLO\x01 WORLD\r\n\r\n");
    expect_error(c.read_response(), 400, "invalid_request_error");
}

TEST_F(ErrorsTest, Upstream429KeepsStatusMessageAndRetryAfter) {
    start("", "  limited: {provider: mock, model: \"gpt-4o-mini;status=429;retry_after=7\"}\n");
    auto r = post("/v1/chat/completions", chat_for("limited"));
    auto e = expect_error(r, 429, "requests");
    EXPECT_EQ(r.header("retry-after"), "7");
    EXPECT_EQ(e.at("code").as_string(), "rate_limit_exceeded");
    EXPECT_NE(std::string(e.at("message").as_string()).find("Rate limit"), std::string::npos);
}

TEST_F(ErrorsTest, Upstream500KeepsStatus) {
    start("", "  broken: {provider: mock, model: \"gpt-4o-mini;status=500\"}\n");
    expect_error(post("/v1/chat/completions", chat_for("broken")), 500, "server_error");
}

TEST_F(ErrorsTest, UpstreamRejectingOurKeyIs502WithoutTheKey) {
    // The gateway sends sk-mock-key; this mock only accepts sk-other.
    start("", "", "", {"--api-key", "sk-other"});
    auto r = post("/v1/chat/completions", kChat);
    auto e = expect_error(r, 502, "upstream_error");
    EXPECT_EQ(e.at("code").as_string(), "upstream_auth_failed");
    EXPECT_EQ(r.body.find("sk-mock-key"), std::string::npos);
}

TEST_F(ErrorsTest, ConnectionRefusedIs502) {
    start("", "  dead: {provider: dead, model: gpt-4o-mini}\n",
          "  dead:\n    type: openai-compatible\n    base_url: http://127.0.0.1:1/v1\n");
    auto e = expect_error(post("/v1/chat/completions", chat_for("dead")), 502, "upstream_error");
    EXPECT_EQ(e.at("code").as_string(), "upstream_unreachable");
}

// Short first-byte timeout (the idle one stays long), and short idle timeout (the first-byte
// one stays long so that a loaded machine cannot turn an idle test into a first-byte one).
const std::string kTightProvider =
    "  tight:\n    type: openai-compatible\n    base_url: MOCK_URL\n"
    "    api_key: sk-mock-key\n    timeouts: {first_byte: 300ms, idle: 10s}\n";
const std::string kIdleProvider =
    "  tight:\n    type: openai-compatible\n    base_url: MOCK_URL\n"
    "    api_key: sk-mock-key\n    timeouts: {first_byte: 10s, idle: 300ms}\n";

TEST_F(ErrorsTest, FirstByteTimeoutIs504) {
    // One attempt: retries of timeouts are routing's business (routing_test.cc).
    start("",
          "  slow: {provider: tight, model: \"gpt-4o-mini;latency_ms=5000\", retry: "
          "{max_attempts: 1}}\n",
          kTightProvider);
    auto started = std::chrono::steady_clock::now();
    auto e = expect_error(post("/v1/chat/completions", chat_for("slow")), 504, "upstream_error");
    EXPECT_EQ(e.at("code").as_string(), "upstream_timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
    // The abandoned upstream request is closed, not left running.
    auto stats = json::parse(mock_get("/_mock/stats?wait_cancelled=1&timeout_ms=5000").body);
    EXPECT_EQ(stats.at("cancelled").as_int64(), 1);
}

TEST_F(ErrorsTest, IdleStreamEndsWithErrorEventAndNoDone) {
    start("", "  stall: {provider: tight, model: \"gpt-4o-mini;stall_after=2\"}\n", kIdleProvider);
    auto r = post("/v1/chat/completions", chat_for("stall", true));
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
    auto events = sse_data(r.body);
    ASSERT_GE(events.size(), 3u);
    EXPECT_NE(events.back(), "[DONE]");
    auto err = json::parse(events.back()).at("error").as_object();
    EXPECT_EQ(err.at("code").as_string(), "upstream_timeout");
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        EXPECT_NO_THROW(json::parse(events[i])) << events[i];
    }
}

TEST_F(ErrorsTest, UpstreamDisconnectMidStreamEndsWithErrorEvent) {
    // The delay lets the stream's head reach the client first; a failure before any byte
    // reached the client is a plain 502 instead (see UpstreamDisconnectBeforeAnswerIs502).
    start("",
          "  cut: {provider: mock, model: \"gpt-4o-mini;disconnect_after=3;chunk_delay_ms=30\"}\n");
    auto r = post("/v1/chat/completions", chat_for("cut", true));
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
    auto events = sse_data(r.body);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
    auto err = json::parse(events.back()).at("error").as_object();
    EXPECT_EQ(err.at("type").as_string(), "upstream_error");
}

TEST_F(ErrorsTest, UpstreamDisconnectBeforeAnswerIs502) {
    start("", "  gone: {provider: mock, model: \"gpt-4o-mini;disconnect_after=0\"}\n");
    expect_error(post("/v1/chat/completions", chat_for("gone")), 502, "upstream_error");
}

}  // namespace
}  // namespace sb::test
