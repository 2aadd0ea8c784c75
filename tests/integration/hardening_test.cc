// Integration: framing and resource-bound cases found in review (smuggling, HEAD, HTTP/1.0,
// slow readers, oversized upstream events).
#include <boost/json.hpp>

#include "integration/gateway_fixture.h"

namespace sb::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string chat_for(const std::string& model, bool stream) {
    return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
           R"(,"messages":[{"role":"user","content":"Hi"}]})";
}

using HardeningTest = GatewayFixture;

TEST_F(HardeningTest, NonChunkedTransferEncodingIsRefusedNotSmuggled) {
    start();
    RawConnection c(port());
    // If `gzip` were read as "no body", the body would be served as a second request.
    c.send("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
           "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_TRUE(c.wait_closed(5s));
    EXPECT_EQ(r.body.find("\"object\":\"list\""), std::string::npos);
}

TEST_F(HardeningTest, Http10WithTransferEncodingIsRefused) {
    start();
    RawConnection c(port());
    c.send("POST /v1/embeddings HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(c.read_response().status, 400);
}

TEST_F(HardeningTest, HeadResponsesHaveNoBody) {
    start();
    RawConnection c(port());
    c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    // Read the raw bytes: the HEAD answer must be a head only, directly followed by the GET's.
    auto get = c.read_partial(1, 5s);
    ASSERT_EQ(get.status, 200);
    EXPECT_TRUE(get.body.empty() || get.body.starts_with("HTTP/1.1 200")) << get.body;
}

TEST_F(HardeningTest, Http10StreamIsCloseDelimitedNotChunked) {
    start();
    RawConnection c(port());
    std::string body = chat_for("mock-gpt", true);
    c.send("POST /v1/chat/completions HTTP/1.0\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body);
    auto r = c.read_response(10s);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("transfer-encoding"), "");
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_TRUE(r.peer_closed);
    EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos) << r.body;
}

TEST_F(HardeningTest, ClientThatStopsReadingIsCutOffAndUpstreamCancelled) {
    start("  idle_timeout: 300ms\n",
          "  big: {provider: mock, model: \"gpt-4o-mini;chunks=4000;bytes_per_chunk=16384\"}\n");
    RawConnection c(port(), /*small_receive_buffer=*/true);
    std::string body = chat_for("big", true);
    c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body);
    // Never read: the gateway's write stalls, times out, and the upstream is cancelled.
    auto stats = json::parse(mock_get("/_mock/stats?wait_cancelled=1&timeout_ms=10000").body);
    EXPECT_EQ(stats.at("cancelled").as_int64(), 1);
    EXPECT_EQ(stats.at("completed").as_int64(), 0);
}

TEST_F(HardeningTest, OversizedUpstreamEventEndsStreamWithError) {
    start("", "  huge: {provider: mock, model: \"gpt-4o-mini;chunks=1;bytes_per_chunk=6000000\"}\n");
    auto r = post("/v1/chat/completions", chat_for("huge", true));
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
    EXPECT_NE(r.body.find("upstream_bad_response"), std::string::npos);
    EXPECT_EQ(r.body.find("data: [DONE]"), std::string::npos);
}

}  // namespace
}  // namespace sb::test
