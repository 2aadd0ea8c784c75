// Gemini adapter: golden cases (tests/golden/gemini/), URL/auth/id/finish-reason rules, stream
// split invariance and robustness, and a conformance replay of the recorded provider fixtures
// (shared/fixtures/providers/gemini/).
//
// Golden layout: <kind>/<name>.in.<ext> is the input, <name>.expected.<ext> the output.
//   request/   OpenAI chat request  -> {url, headers, body: Gemini request} (or the 400 we
//              answer); a "model" starting with "gemini-" is used as the upstream model
//   response/  Gemini response      -> OpenAI chat.completion (or the error)
//   stream/    Gemini SSE           -> OpenAI SSE chunks (+ "# error: ..." when it fails);
//              names ending in "_usage" run with stream_options.include_usage
//   error/     Gemini error body    -> our Error; the name starts with the HTTP status
// Regenerate with SB_UPDATE_GOLDEN=1 and review the diff.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "providers/gemini/gemini.h"
#include "support/dirs.h"
#include "support/golden.h"
#include "support/harness.h"

namespace sb::providers::gemini {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = test::golden_dir("gemini");
const fs::path kFixturesDir = test::provider_fixtures_dir() / "gemini";
constexpr std::string_view kGoldenKey = "AIza-golden-key";

using test::golden::error_json;
using test::golden::pretty_json;
using test::golden::read_file;
using test::golden::run_cases;

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    append_json_escaped(out, s);
    out += '"';
    return out;
}

ChatContext golden_context() {
    ChatContext ctx;
    ctx.public_model = "chat-default";
    ctx.upstream_model = "gemini-2.5-flash";
    ctx.response_id = "chatcmpl-golden";
    ctx.created = 1700000000;
    return ctx;
}

config::Provider golden_provider() {
    config::Provider p;
    p.name = "gemini";
    p.api_key = std::string(kGoldenKey);
    return p;
}

using test::golden::StreamResult;

// Runs a whole Gemini stream through a decoder, fed in the given pieces.
StreamResult decode(const ChatContext& ctx, const std::vector<std::string_view>& pieces) {
    return test::golden::run_stream(GeminiAdapter(), ctx, pieces);
}

StreamResult decode_whole(const ChatContext& ctx, std::string_view sse) {
    return decode(ctx, {sse});
}

ChatContext stream_context(std::string_view name) {
    return test::golden::stream_context(golden_context(), name);
}

// The context a golden request runs with: stream flags and the upstream model from the body.
ChatContext request_context(const std::string& body) {
    ChatContext ctx = golden_context();
    const auto flags = test::golden::stream_flags(body);
    ctx.stream = flags.stream;
    ctx.include_usage = flags.include_usage;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    const simdjson::padded_string padded(body);
    if (parser.parse(padded).get(root) == simdjson::SUCCESS) {
        std::string_view model;
        if (root["model"].get_string().get(model) == simdjson::SUCCESS &&
            model.starts_with("gemini-")) {
            ctx.upstream_model = std::string(model);
        }
    }
    return ctx;
}

std::string render_request(const http::UpstreamRequest& req) {
    std::string json = "{\"url\":" + json_quote(req.url) + ",\"headers\":[";
    for (std::size_t i = 0; i < req.headers.size(); ++i) {
        json += (i == 0 ? "" : ",") + json_quote(req.headers[i]);
    }
    json += "],\"body\":" + req.body + "}";
    return pretty_json(json);
}

// Structural JSON equality: object members in any order, numbers by value.
bool json_equal(simdjson::dom::element a, simdjson::dom::element b) {
    double x = 0;
    double y = 0;
    if (a.get_double().get(x) == simdjson::SUCCESS && b.get_double().get(y) == simdjson::SUCCESS) {
        return x == y;
    }
    if (a.type() != b.type()) {
        return false;
    }
    if (a.is_object()) {
        const simdjson::dom::object oa = a.get_object().value_unsafe();
        const simdjson::dom::object ob = b.get_object().value_unsafe();
        if (oa.size() != ob.size()) {
            return false;
        }
        for (const auto field : oa) {
            simdjson::dom::element other;
            if (ob[field.key].get(other) != simdjson::SUCCESS || !json_equal(field.value, other)) {
                return false;
            }
        }
        return true;
    }
    if (a.is_array()) {
        const simdjson::dom::array aa = a.get_array().value_unsafe();
        const simdjson::dom::array ab = b.get_array().value_unsafe();
        if (aa.size() != ab.size()) {
            return false;
        }
        for (std::size_t i = 0; i < aa.size(); ++i) {
            if (!json_equal(aa.at(i).value_unsafe(), ab.at(i).value_unsafe())) {
                return false;
            }
        }
        return true;
    }
    return simdjson::to_string(a) == simdjson::to_string(b);
}

// ---------------------------------------------------------------------------------------------
// Golden cases

TEST(GeminiGolden, RequestCasesMatch) {
    GeminiAdapter adapter;
    run_cases(kGoldenDir, "request", "json", "json",
              [&](const auto& name, const auto& body, auto& actual) {
                  auto result = adapter.build_chat(golden_provider(), body, request_context(body));
                  if (name.starts_with("err_")) {
                      EXPECT_FALSE(result) << "refusal cases are named err_*";
                  } else {
                      EXPECT_TRUE(result) << (result ? "" : result.error().message);
                  }
                  actual = result ? render_request(*result) : error_json(result.error());
              });
}

TEST(GeminiGolden, ResponseCasesMatch) {
    GeminiAdapter adapter;
    run_cases(kGoldenDir, "response", "json", "json",
              [&](const auto& name, const auto& in, auto& actual) {
                  auto result = adapter.translate_chat_response(in, golden_context());
                  EXPECT_EQ(!result, name.starts_with("err_"));
                  actual = result ? pretty_json(*result) : error_json(result.error());
              });
}

TEST(GeminiGolden, StreamCasesMatch) {
    run_cases(kGoldenDir, "stream", "sse", "sse",
              [](const auto& name, const auto& in, auto& actual) {
                  actual = decode_whole(stream_context(name), in).render();
              });
}

TEST(GeminiGolden, ErrorCasesMatch) {
    GeminiAdapter adapter;
    run_cases(kGoldenDir, "error", "json", "json",
              [&](const auto& name, const auto& in, auto& actual) {
                  const int status = std::atoi(name.c_str());
                  ASSERT_GE(status, 100) << "error case names start with the HTTP status";
                  const Error e = adapter.map_error(golden_provider(), status, in, "");
                  EXPECT_EQ(e.message.find(kGoldenKey), std::string::npos) << "the key leaked";
                  actual = error_json(e);
              });
}

// ---------------------------------------------------------------------------------------------
// Request: URL, auth, model path, thought signatures

TEST(GeminiRequest, KeyTravelsInTheGoogHeaderNeverInTheUrl) {
    GeminiAdapter adapter;
    const ChatContext ctx = golden_context();
    auto req = adapter.build_chat(golden_provider(),
                                  R"({"messages":[{"role":"user","content":"hi"}]})", ctx);
    ASSERT_TRUE(req);
    EXPECT_EQ(req->url,
              "https://generativelanguage.googleapis.com/v1beta/models/"
              "gemini-2.5-flash:generateContent");
    EXPECT_EQ(req->url.find(kGoldenKey), std::string::npos);
    EXPECT_NE(std::find(req->headers.begin(), req->headers.end(),
                        "x-goog-api-key: " + std::string(kGoldenKey)),
              req->headers.end());
    for (const std::string& header : req->headers) {
        EXPECT_FALSE(header.starts_with("Authorization")) << header;
    }
}

TEST(GeminiRequest, StreamingUsesTheSseEndpoint) {
    config::Provider p = golden_provider();
    p.base_url = "http://127.0.0.1:9999/v1beta/";
    EXPECT_EQ(detail::request_url(p, "gemini-2.0-flash", true),
              "http://127.0.0.1:9999/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
}

TEST(GeminiRequest, ModelResourcePathsAreKeptAndUnsafeCharactersEscaped) {
    const config::Provider p = golden_provider();
    EXPECT_EQ(detail::request_url(p, "tunedModels/my-tune-1", false),
              std::string(kDefaultBaseUrl) + "/tunedModels/my-tune-1:generateContent");
    EXPECT_EQ(detail::request_url(p, "gemini x?y#z", false),
              std::string(kDefaultBaseUrl) + "/models/gemini%20x%3Fy%23z:generateContent");
}

TEST(GeminiRequest, AnExplicitlyConfiguredAuthHeaderIsUsedAsConfigured) {
    config::Provider p = golden_provider();
    p.auth_header = "Authorization";
    p.auth_prefix = "Bearer ya29.";
    p.headers = {{"X-Goog-User-Project", "proj"}};
    const std::vector<std::string> headers = detail::request_headers(p);
    EXPECT_NE(std::find(headers.begin(), headers.end(),
                        "Authorization: Bearer ya29." + std::string(kGoldenKey)),
              headers.end());
    EXPECT_NE(std::find(headers.begin(), headers.end(), "X-Goog-User-Project: proj"),
              headers.end());
    p.api_key.clear();
    for (const std::string& header : detail::request_headers(p)) {
        EXPECT_EQ(header.find("Authorization"), std::string::npos) << header;
    }
}

TEST(GeminiRequest, ThoughtSignatureRoundTripsThroughTheToolCall) {
    GeminiAdapter adapter;
    const ChatContext ctx = golden_context();
    // Gemini answers with a signed function call...
    const std::string gemini_response = R"({"candidates":[{"content":{"role":"model","parts":[
        {"functionCall":{"name":"lookup","args":{"q":"x"}},"thoughtSignature":"U2lnbmVk"}]},
        "finishReason":"STOP"}]})";
    auto openai = adapter.translate_chat_response(gemini_response, ctx);
    ASSERT_TRUE(openai);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(*openai).get(root), simdjson::SUCCESS);
    const simdjson::dom::element call =
        root["choices"].at(0)["message"]["tool_calls"].at(0).value();
    EXPECT_EQ(std::string_view(call["extra_content"]["google"]["thought_signature"]), "U2lnbmVk");
    EXPECT_EQ(std::string_view(root["choices"].at(0)["finish_reason"]), "tool_calls");

    // ...and the client echoes the assistant message back with the tool result.
    const std::string next = R"({"messages":[{"role":"user","content":"go"},
        {"role":"assistant","content":null,"tool_calls":[)" +
                             simdjson::to_string(call) + R"(]},
        {"role":"tool","tool_call_id":")" +
                             std::string(std::string_view(call["id"])) +
                             R"(","content":"{\"hits\":3}"}]})";
    auto body = detail::translate_request(next, ctx);
    ASSERT_TRUE(body) << body.error().message;
    simdjson::dom::parser parser2;
    simdjson::dom::element request;
    ASSERT_EQ(parser2.parse(*body).get(request), simdjson::SUCCESS);
    const simdjson::dom::element model_part = request["contents"].at(1)["parts"].at(0).value();
    EXPECT_EQ(std::string_view(model_part["thoughtSignature"]), "U2lnbmVk");
    EXPECT_EQ(std::string_view(model_part["functionCall"]["name"]), "lookup");
    const simdjson::dom::element response_part = request["contents"].at(2)["parts"].at(0).value();
    EXPECT_EQ(std::string_view(response_part["functionResponse"]["name"]), "lookup");
    EXPECT_EQ(int64_t(response_part["functionResponse"]["response"]["hits"]), 3);
}

TEST(GeminiRequest, MissingSignatureGetsTheSkipSentinelOnlyFromGemini3) {
    const std::string body = R"({"messages":[{"role":"user","content":"go"},
        {"role":"assistant","tool_calls":[
          {"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},
          {"id":"b","type":"function","function":{"name":"g","arguments":""}}]}]})";
    ChatContext ctx = golden_context();
    for (const std::string_view model :
         {"gemini-2.0-flash", "gemini-2.5-pro", "gemini-flash-latest", "gemini-3-pro-preview",
          "models/gemini-3-flash-preview"}) {
        SCOPED_TRACE(model);
        ctx.upstream_model = std::string(model);
        auto out = detail::translate_request(body, ctx);
        ASSERT_TRUE(out);
        // Only the first call of the turn is signed (Gemini signs the first of parallel calls).
        std::size_t count = 0;
        for (std::size_t at = out->find(kSkipThoughtSignature); at != std::string::npos;
             at = out->find(kSkipThoughtSignature, at + 1)) {
            ++count;
        }
        EXPECT_EQ(count, detail::model_generation(model) >= 3 ? 1u : 0u);
    }
}

TEST(GeminiRequest, ToolResultsAreMatchedByTheCallsName) {
    const std::string body = R"({"messages":[{"role":"user","content":"go"},
        {"role":"assistant","tool_calls":[
          {"id":"one","type":"function","function":{"name":"alpha","arguments":"{}"}},
          {"id":"two","type":"function","function":{"name":"beta","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"two","content":"[1,2]"},
        {"role":"tool","tool_call_id":"one","content":"{\"ok\":true}"}]})";
    auto out = detail::translate_request(body, golden_context());
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_NE(out->find(R"({"role":"user","parts":[{"functionResponse":{"name":"beta",)"
                        R"("response":{"output":"[1,2]"}}},{"functionResponse":{"name":"alpha",)"
                        R"("response":{"ok":true}}}]})"),
              std::string::npos)
        << *out;
}

TEST(GeminiRequest, ToolResultBeforeItsCallIsRefusedNamingTheField) {
    const std::string body = R"({"messages":[{"role":"user","content":"go"},
        {"role":"tool","tool_call_id":"later","content":"x"},
        {"role":"assistant","tool_calls":[
          {"id":"later","type":"function","function":{"name":"f","arguments":"{}"}}]}]})";
    auto out = detail::translate_request(body, golden_context());
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, ErrorCode::InvalidRequest);
    EXPECT_EQ(out.error().param, "messages[1].tool_call_id");
    EXPECT_EQ(http_status(out.error()), 400);
}

TEST(GeminiRequest, RefusedParametersAreNamed) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {R"("logprobs":true)", "logprobs"},
        {R"("top_logprobs":3)", "top_logprobs"},
        {R"("logit_bias":{"1":2})", "logit_bias"},
        {R"("audio":{"voice":"x"})", "audio"},
        {R"("functions":[])", "functions"},
        {R"("temperature":"hot")", "temperature"},
        {R"("reasoning_effort":"max")", "reasoning_effort"},
        {R"("response_format":{"type":"yaml"})", "response_format.type"},
        {R"("stop":[1])", "stop[0]"},
    };
    for (const auto& [field, param] : cases) {
        SCOPED_TRACE(field);
        const std::string body = std::string(R"({"messages":[{"role":"user","content":"hi"}],)") +
                                 std::string(field) + "}";
        auto out = detail::translate_request(body, golden_context());
        ASSERT_FALSE(out);
        EXPECT_EQ(out.error().param, param);
        EXPECT_EQ(http_status(out.error()), 400);
    }
}

// ---------------------------------------------------------------------------------------------
// Ids, finish reasons, model generations

TEST(GeminiIds, ToolCallIdsAreDeterministicShortAndSafe) {
    EXPECT_EQ(detail::tool_call_id("chatcmpl-abc123", 0, 0), "call_abc123_0");
    EXPECT_EQ(detail::tool_call_id("chatcmpl-abc123", 0, 1), "call_abc123_1");
    EXPECT_EQ(detail::tool_call_id("chatcmpl-abc123", 2, 1), "call_abc123_2_1");
    EXPECT_EQ(detail::tool_call_id("", 0, 3), "call_3");
    const std::string long_id = detail::tool_call_id(
        "chatcmpl-" + std::string(100, 'x') + "/+=-" + std::string(30, 'Y'), 7, 12);
    EXPECT_LE(long_id.size(), 40u);
    for (const char c : long_id) {
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_') << long_id;
    }
    EXPECT_EQ(long_id,
              detail::tool_call_id(
                  "chatcmpl-" + std::string(100, 'x') + "/+=-" + std::string(30, 'Y'), 7, 12));
}

TEST(GeminiFinishReason, MapsEveryDocumentedValue) {
    const std::pair<std::string_view, std::string_view> table[] = {
        {"STOP", "stop"},
        {"MAX_TOKENS", "length"},
        {"SAFETY", "content_filter"},
        {"RECITATION", "content_filter"},
        {"BLOCKLIST", "content_filter"},
        {"PROHIBITED_CONTENT", "content_filter"},
        {"SPII", "content_filter"},
        {"IMAGE_SAFETY", "content_filter"},
        {"IMAGE_PROHIBITED_CONTENT", "content_filter"},
        {"IMAGE_RECITATION", "content_filter"},
        {"LANGUAGE", "stop"},
        {"OTHER", "stop"},
        {"MALFORMED_FUNCTION_CALL", "stop"},
        {"UNEXPECTED_TOOL_CALL", "stop"},
        {"TOO_MANY_TOOL_CALLS", "stop"},
        {"NO_IMAGE", "stop"},
        {"IMAGE_OTHER", "stop"},
        {"FINISH_REASON_UNSPECIFIED", "stop"},
        {"SOMETHING_NEW", "stop"},
    };
    for (const auto& [gemini, openai] : table) {
        EXPECT_EQ(detail::finish_reason(gemini, false), openai) << gemini;
    }
    EXPECT_EQ(detail::finish_reason("STOP", true), "tool_calls");
    EXPECT_EQ(detail::finish_reason("MAX_TOKENS", true), "length");
    EXPECT_EQ(detail::finish_reason("SAFETY", true), "content_filter");
}

TEST(GeminiModelGeneration, ReadsTheMajorVersionFromTheName) {
    EXPECT_EQ(detail::model_generation("gemini-2.0-flash"), 2);
    EXPECT_EQ(detail::model_generation("gemini-2.5-pro"), 2);
    EXPECT_EQ(detail::model_generation("gemini-3-pro-preview"), 3);
    EXPECT_EQ(detail::model_generation("models/gemini-3.1-flash"), 3);
    EXPECT_EQ(detail::model_generation("gemini-flash-latest"), 0);
    EXPECT_EQ(detail::model_generation("tunedModels/abc"), 0);
    EXPECT_EQ(detail::model_generation(""), 0);
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(GeminiError, RetryAfterHeaderWinsOverRetryInfo) {
    GeminiAdapter adapter;
    const std::string body = R"({"error":{"code":429,"message":"slow down",
        "status":"RESOURCE_EXHAUSTED","details":[
        {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2.1s"}]}})";
    const Error with_header = adapter.map_error(golden_provider(), 429, body, "9");
    EXPECT_EQ(with_header.retry_after, "9");
    const Error from_body = adapter.map_error(golden_provider(), 429, body, "");
    EXPECT_EQ(from_body.retry_after, "3");
    EXPECT_EQ(from_body.code, ErrorCode::UpstreamError);
    EXPECT_EQ(http_status(from_body), 429);
    EXPECT_EQ(error_type(from_body), "RESOURCE_EXHAUSTED");
}

TEST(GeminiError, BadKeyIsAGatewayCredentialFailureNotTheClients) {
    GeminiAdapter adapter;
    const std::string body = R"({"error":{"code":400,"message":"API key not valid.",
        "status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",
        "reason":"API_KEY_INVALID","domain":"googleapis.com"}]}})";
    const Error e = adapter.map_error(golden_provider(), 400, body, "");
    EXPECT_EQ(e.code, ErrorCode::UpstreamAuth);
    EXPECT_EQ(http_status(e), 502);
    EXPECT_NE(e.message.find("API key not valid."), std::string::npos);
}

TEST(GeminiError, ErrorInsideA200StreamKeepsStatusAndType) {
    const StreamResult result = decode_whole(
        stream_context("x"),
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}]}\r\n\r\n"
        "data: {\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}\r\n\r\n");
    ASSERT_TRUE(result.error);
    EXPECT_EQ(result.error->code, ErrorCode::UpstreamError);
    EXPECT_EQ(http_status(*result.error), 500);
    EXPECT_EQ(error_type(*result.error), "INTERNAL");
    EXPECT_EQ(result.error->message, "boom");
    EXPECT_NE(result.output.find("\"content\":\"Hi\""), std::string::npos);
    EXPECT_EQ(result.output.find("[DONE]"), std::string::npos) << "no [DONE] after an error";
    EXPECT_EQ(result.output.find("finish_reason\":\""), std::string::npos)
        << "no invented finish_reason";
}

// ---------------------------------------------------------------------------------------------
// Stream framing and robustness

// Every golden stream gives the same output fed whole, byte by byte, and in random pieces.
TEST(GeminiStream, OutputDoesNotDependOnHowTheBytesAreSplit) {
    test::expect_stream_cases_split_invariant(
        kGoldenDir, "sse", 20250611, {.max_piece = 40}, nullptr,
        [](const auto& name, const auto& pieces) {
            return decode(stream_context(name), pieces).render();
        });
}

TEST(GeminiStream, UsesTheLastCumulativeUsageNeverTheSum) {
    ChatContext ctx = stream_context("x_usage");
    const StreamResult result =
        decode_whole(ctx,
                     "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}],"
                     "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":1,"
                     "\"totalTokenCount\":5}}\r\n\r\n"
                     "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"}]},"
                     "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":4,"
                     "\"candidatesTokenCount\":17,\"totalTokenCount\":21}}\r\n\r\n");
    ASSERT_FALSE(result.error) << result.error->message;
    EXPECT_NE(result.output.find("\"choices\":[],\"usage\":{\"prompt_tokens\":4,"
                                 "\"completion_tokens\":17,\"total_tokens\":21"),
              std::string::npos)
        << result.output;
}

TEST(GeminiStream, ErrorsStayAndNothingFollows) {
    GeminiAdapter adapter;
    auto decoder = adapter.make_chat_stream_decoder(stream_context("x"));
    std::string out;
    EXPECT_FALSE(decoder->feed("data: {not json}\r\n\r\n", out));
    const std::size_t size = out.size();
    const auto again = decoder->feed("data: {\"candidates\":[]}\r\n\r\n", out);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::UpstreamBadResponse);
    EXPECT_FALSE(decoder->finish(out));
    EXPECT_EQ(out.size(), size);
}

// Random bytes, and golden streams with bytes flipped or cut, end in output or an Error: never
// a crash or a hang (run under ASan+UBSan in CI).
TEST(GeminiStream, SurvivesArbitraryBytes) {
    std::mt19937 rng(7);
    std::vector<std::string> seeds;
    for (const auto& [name, path] : test::golden::inputs(kGoldenDir, "stream", "sse")) {
        seeds.push_back(read_file(path));
    }
    ASSERT_FALSE(seeds.empty());
    const std::string alphabet = "data: {}[]\",:\r\n\\0123456789abcdefghijklmnopqrstuvwxyz";
    for (int round = 0; round < 400; ++round) {
        std::string input;
        if (round % 4 == 0) {
            const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 300)(rng);
            for (std::size_t i = 0; i < n; ++i) {
                input += static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
            }
        } else {
            input = seeds[static_cast<std::size_t>(round) % seeds.size()];
            const int edits = std::uniform_int_distribution<int>(1, 8)(rng);
            for (int e = 0; e < edits && !input.empty(); ++e) {
                const std::size_t at =
                    std::uniform_int_distribution<std::size_t>(0, input.size() - 1)(rng);
                if (round % 4 == 3) {
                    input.resize(at);
                } else {
                    input[at] = alphabet[std::uniform_int_distribution<std::size_t>(
                        0, alphabet.size() - 1)(rng)];
                }
            }
        }
        const StreamResult result = decode_whole(stream_context("fuzz_usage"), input);
        if (!result.error) {
            EXPECT_TRUE(result.output.ends_with("data: [DONE]\n\n"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conformance: replay the recorded provider fixtures and check the translation rules.

// What a Gemini candidate should become, computed from the fixture independently of the
// adapter: text, thought text, function calls (name, args JSON) and the OpenAI finish reason.
struct Expected {
    std::string text;
    std::string reasoning;
    std::vector<std::pair<std::string, std::string>> calls;
    std::string finish;
};

void collect_parts(simdjson::dom::element candidate, Expected& expected) {
    simdjson::dom::array parts;
    if (candidate["content"]["parts"].get_array().get(parts) != simdjson::SUCCESS) {
        return;
    }
    for (const simdjson::dom::element part : parts) {
        std::string_view text;
        simdjson::dom::element call;
        if (part["text"].get_string().get(text) == simdjson::SUCCESS) {
            bool thought = false;
            if (part["thought"].get_bool().get(thought) == simdjson::SUCCESS && thought) {
                expected.reasoning += text;
            } else {
                expected.text += text;
            }
        } else if (part["functionCall"].get(call) == simdjson::SUCCESS &&
                   call["name"].is_string()) {
            simdjson::dom::element args;
            expected.calls.emplace_back(
                std::string(std::string_view(call["name"])),
                call["args"].get(args) == simdjson::SUCCESS ? simdjson::to_string(args) : "{}");
        }
    }
}

std::string expected_finish(std::string_view gemini_reason, bool has_calls) {
    if (gemini_reason == "MAX_TOKENS") {
        return "length";
    }
    if (gemini_reason == "STOP") {
        return has_calls ? "tool_calls" : "stop";
    }
    return "content_filter";  // the recorded fixtures only hold STOP and MAX_TOKENS
}

void check_usage(simdjson::dom::element usage, simdjson::dom::element metadata) {
    const auto count = [&metadata](std::string_view key) {
        std::int64_t n = 0;
        return metadata[key].get_int64().get(n) == simdjson::SUCCESS ? n : 0;
    };
    EXPECT_EQ(int64_t(usage["prompt_tokens"]), count("promptTokenCount"));
    EXPECT_EQ(int64_t(usage["completion_tokens"]),
              count("candidatesTokenCount") + count("thoughtsTokenCount"));
    EXPECT_EQ(int64_t(usage["total_tokens"]), count("totalTokenCount"));
    EXPECT_EQ(int64_t(usage["total_tokens"]),
              int64_t(usage["prompt_tokens"]) + int64_t(usage["completion_tokens"]))
        << "Gemini's total is prompt + candidates + thoughts";
    EXPECT_EQ(int64_t(usage["completion_tokens_details"]["reasoning_tokens"]),
              count("thoughtsTokenCount"));
    EXPECT_EQ(int64_t(usage["prompt_tokens_details"]["cached_tokens"]),
              count("cachedContentTokenCount"));
}

TEST(GeminiConformance, RecordedResponsesTranslate) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir);
    const auto files = test::fixture_files(kFixturesDir, "resp.", ".json");
    ASSERT_FALSE(files.empty());
    GeminiAdapter adapter;
    for (const fs::path& path : files) {
        SCOPED_TRACE(path.filename().string());
        const std::string body = read_file(path);
        auto result = adapter.translate_chat_response(body, golden_context());
        ASSERT_TRUE(result) << result.error().message;

        simdjson::dom::parser fixture_parser;
        const simdjson::dom::element fixture = fixture_parser.parse(body).value();
        const simdjson::dom::element candidate = fixture["candidates"].at(0).value();
        Expected expected;
        collect_parts(candidate, expected);
        expected.finish =
            expected_finish(std::string_view(candidate["finishReason"]), !expected.calls.empty());

        simdjson::dom::parser parser;
        const simdjson::dom::element root = parser.parse(*result).value();
        EXPECT_EQ(std::string_view(root["object"]), "chat.completion");
        const simdjson::dom::element choice = root["choices"].at(0).value();
        const simdjson::dom::element message = choice["message"].value();
        EXPECT_EQ(std::string_view(choice["finish_reason"]), expected.finish);
        std::string_view content;
        if (message["content"].get_string().get(content) != simdjson::SUCCESS) {
            content = {};
        }
        EXPECT_EQ(content, expected.text);
        std::string_view reasoning;
        if (message["reasoning_content"].get_string().get(reasoning) != simdjson::SUCCESS) {
            reasoning = {};
        }
        EXPECT_EQ(reasoning, expected.reasoning);
        simdjson::dom::array calls;
        if (expected.calls.empty()) {
            EXPECT_NE(message["tool_calls"].error(), simdjson::SUCCESS);
        } else {
            ASSERT_EQ(message["tool_calls"].get_array().get(calls), simdjson::SUCCESS);
            ASSERT_EQ(calls.size(), expected.calls.size());
            for (std::size_t i = 0; i < expected.calls.size(); ++i) {
                const simdjson::dom::element call = calls.at(i).value();
                EXPECT_TRUE(std::string_view(call["id"]).starts_with("call_"));
                EXPECT_EQ(std::string_view(call["function"]["name"]), expected.calls[i].first);
                simdjson::dom::parser a;
                simdjson::dom::parser b;
                EXPECT_TRUE(json_equal(
                    a.parse(std::string(std::string_view(call["function"]["arguments"]))).value(),
                    b.parse(expected.calls[i].second).value()));
            }
        }
        check_usage(root["usage"].value(), fixture["usageMetadata"].value());
    }
}

TEST(GeminiConformance, RecordedStreamsReplay) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir);
    const auto files = test::fixture_files(kFixturesDir, "stream.", ".segments.json");
    ASSERT_FALSE(files.empty());
    for (const fs::path& path : files) {
        SCOPED_TRACE(path.filename().string());
        simdjson::dom::parser fixture_parser;
        const simdjson::dom::element fixture = fixture_parser.load(path.string()).value();
        const simdjson::dom::array payloads = fixture["sse_data_payloads"].get_array().value();
        // The recorder kept each event's JSON, not the bytes: frame them as Gemini does.
        std::string sse;
        Expected expected;
        std::string_view last_reason;
        simdjson::dom::element last_usage;
        bool partial_args = false;
        for (const simdjson::dom::element payload : payloads) {
            sse += "data: " + simdjson::to_string(payload) + "\r\n\r\n";
            simdjson::dom::element candidate;
            if (payload["candidates"].at(0).get(candidate) == simdjson::SUCCESS) {
                collect_parts(candidate, expected);
                std::string_view reason;
                if (candidate["finishReason"].get_string().get(reason) == simdjson::SUCCESS) {
                    last_reason = reason;
                }
                simdjson::dom::array parts;
                if (candidate["content"]["parts"].get_array().get(parts) == simdjson::SUCCESS) {
                    for (const simdjson::dom::element part : parts) {
                        partial_args =
                            partial_args ||
                            part["functionCall"]["willContinue"].error() == simdjson::SUCCESS ||
                            part["functionCall"]["partialArgs"].error() == simdjson::SUCCESS;
                    }
                }
            }
            simdjson::dom::element usage;
            if (payload["usageMetadata"].get(usage) == simdjson::SUCCESS) {
                last_usage = usage;
            }
        }

        ChatContext ctx = stream_context("fixture_usage");
        const StreamResult result = decode_whole(ctx, sse);
        if (partial_args) {
            // Vertex streamFunctionCallArguments: never requested by this adapter, refused.
            ASSERT_TRUE(result.error);
            EXPECT_EQ(result.error->code, ErrorCode::UpstreamBadResponse);
            continue;
        }
        ASSERT_FALSE(result.error) << result.error->message;
        expected.finish = expected_finish(last_reason, !expected.calls.empty());

        // Walk the OpenAI chunks: role first, deltas, one finish chunk, usage, [DONE].
        std::vector<std::string> events;
        std::size_t pos = 0;
        while (pos < result.output.size()) {
            const std::size_t end = result.output.find("\n\n", pos);
            ASSERT_NE(end, std::string::npos);
            events.push_back(result.output.substr(pos, end - pos));
            pos = end + 2;
        }
        ASSERT_GE(events.size(), 4u);
        EXPECT_EQ(events.back(), "data: [DONE]");
        events.pop_back();
        std::string content;
        std::string reasoning;
        std::string finish;
        int finishes = 0;
        std::vector<std::pair<std::string, std::string>> calls;
        simdjson::dom::parser parser;
        for (std::size_t i = 0; i < events.size(); ++i) {
            ASSERT_TRUE(events[i].starts_with("data: ")) << events[i];
            const simdjson::dom::element chunk = parser.parse(events[i].substr(6)).value();
            EXPECT_EQ(std::string_view(chunk["object"]), "chat.completion.chunk");
            EXPECT_EQ(chunk["usage"].error(), simdjson::SUCCESS) << "usage member on every chunk";
            const simdjson::dom::array choices = chunk["choices"].get_array().value();
            if (choices.size() == 0) {
                EXPECT_EQ(i + 1, events.size()) << "the usage chunk comes last";
                check_usage(chunk["usage"].value(), last_usage);
                continue;
            }
            const simdjson::dom::element choice = choices.at(0).value();
            const simdjson::dom::element delta = choice["delta"].value();
            if (i == 0) {
                EXPECT_EQ(std::string_view(delta["role"]), "assistant");
            }
            std::string_view text;
            if (delta["content"].get_string().get(text) == simdjson::SUCCESS) {
                content += text;
            }
            if (delta["reasoning_content"].get_string().get(text) == simdjson::SUCCESS) {
                reasoning += text;
            }
            simdjson::dom::array tool_calls;
            if (delta["tool_calls"].get_array().get(tool_calls) == simdjson::SUCCESS) {
                for (const simdjson::dom::element call : tool_calls) {
                    EXPECT_EQ(int64_t(call["index"]), static_cast<int64_t>(calls.size()));
                    EXPECT_TRUE(std::string_view(call["id"]).starts_with("call_"));
                    calls.emplace_back(
                        std::string(std::string_view(call["function"]["name"])),
                        std::string(std::string_view(call["function"]["arguments"])));
                }
            }
            if (choice["finish_reason"].get_string().get(text) == simdjson::SUCCESS) {
                finish = text;
                ++finishes;
            }
        }
        EXPECT_EQ(content, expected.text);
        EXPECT_EQ(reasoning, expected.reasoning);
        EXPECT_EQ(finishes, 1);
        EXPECT_EQ(finish, expected.finish);
        ASSERT_EQ(calls.size(), expected.calls.size());
        for (std::size_t i = 0; i < calls.size(); ++i) {
            EXPECT_EQ(calls[i].first, expected.calls[i].first);
            simdjson::dom::parser a;
            simdjson::dom::parser b;
            EXPECT_TRUE(json_equal(a.parse(calls[i].second).value(),
                                   b.parse(expected.calls[i].second).value()));
        }
    }
}

TEST(GeminiConformance, RecordedErrorsMap) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir);
    const auto files = test::fixture_files(kFixturesDir, "err.", ".json");
    ASSERT_FALSE(files.empty());
    GeminiAdapter adapter;
    for (const fs::path& path : files) {
        SCOPED_TRACE(path.filename().string());
        simdjson::dom::parser parser;
        const simdjson::dom::element fixture = parser.load(path.string()).value();
        const int status = static_cast<int>(int64_t(fixture["response_status"]));
        const simdjson::dom::element body = fixture["body"].value();
        const Error e = adapter.map_error(golden_provider(), status, simdjson::to_string(body), "");
        EXPECT_EQ(e.code, ErrorCode::UpstreamError);
        EXPECT_EQ(http_status(e), status);
        EXPECT_EQ(error_type(e), std::string_view(body["error"]["status"]));
        EXPECT_EQ(e.message, std::string_view(body["error"]["message"]));
    }
}

// OpenAI requests equivalent to the recorded Gemini requests translate to the same Gemini body
// (the members the fixture shows; the SDK's own extras such as an empty generationConfig or a
// role inside systemInstruction are not compared).
TEST(GeminiConformance, RequestsMatchTheRecordedGeminiBodies) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir);
    const std::string divide_tool =
        R"({"type":"function","function":{"name":"customDivide","description":"Custom divide function",)"
        R"("parameters":{"type":"object","properties":{"denominator":{"type":"number"},)"
        R"("numerator":{"type":"number"}}}}})";
    struct Case {
        std::string_view fixture;
        std::string openai;
        std::vector<std::string_view> members;  // JSON pointers compared
    };
    std::string schema;
    {
        simdjson::dom::parser parser;
        const fs::path path = kFixturesDir / "req.json_schema.json";
        if (fs::exists(path)) {
            schema = simdjson::to_string(
                parser.load(path.string())["generationConfig"]["responseJsonSchema"].value());
        }
    }
    const std::vector<Case> cases = {
        {"req.plain_chat.json",
         R"({"model":"m","messages":[{"role":"user","content":"why is the sky blue?"}]})",
         {"/contents"}},
        {"req.consecutive_user_turns.json",
         R"({"model":"m","messages":[{"role":"user","content":"a=5"},{"role":"user","content":"b=10"},)"
         R"({"role":"user","content":"what is the value of a+b?"}]})",
         {"/contents"}},
        {"req.system_instruction.json",
         R"({"model":"m","messages":[{"role":"system","content":"I say high you say low"},)"
         R"({"role":"user","content":"high"}]})",
         {"/contents", "/systemInstruction/parts"}},
        {"req.tools_tool_config_auto.json",
         R"({"model":"m","messages":[{"role":"user","content":"Divide 10 by 2 using the customDivide function"}],)"
         R"("tools":[)" +
             divide_tool + R"(],"tool_choice":"auto"})",
         {"/contents", "/tools", "/toolConfig"}},
        {"req.function_response_turn.json",
         R"({"model":"m","messages":[{"role":"user","content":"Divide 10 by 2 using the customDivide function"},)"
         R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",)"
         R"("function":{"name":"customDivide","arguments":"{\"denominator\":2,\"numerator\":10}"}}]},)"
         R"({"role":"tool","tool_call_id":"call_1","content":"{\"output\":42}"}],)"
         R"("tools":[)" +
             divide_tool + R"(],"tool_choice":"auto"})",
         {"/contents", "/tools", "/toolConfig"}},
        {"req.max_output_tokens.json",
         R"({"model":"m","messages":[{"role":"user","content":"why is the sky blue?"}],"max_tokens":200,"n":1})",
         {"/contents", "/generationConfig/maxOutputTokens", "/generationConfig/candidateCount"}},
        {"req.json_schema.json",
         R"({"model":"m","messages":[{"role":"user","content":"populate the following object"}],)"
         R"("response_format":{"type":"json_schema","json_schema":{"name":"x","schema":)" +
             (schema.empty() ? std::string("{}") : schema) + "}}}",
         {"/contents", "/generationConfig"}},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(std::string(c.fixture));
        const fs::path path = kFixturesDir / c.fixture;
        if (!fs::exists(path)) {
            continue;
        }
        simdjson::dom::parser fixture_parser;
        const simdjson::dom::element fixture = fixture_parser.load(path.string()).value();
        auto body = detail::translate_request(c.openai, golden_context());
        ASSERT_TRUE(body) << body.error().message;
        simdjson::dom::parser parser;
        const simdjson::dom::element ours = parser.parse(*body).value();
        for (const std::string_view pointer : c.members) {
            simdjson::dom::element want;
            simdjson::dom::element got;
            ASSERT_EQ(fixture.at_pointer(pointer).get(want), simdjson::SUCCESS) << pointer;
            ASSERT_EQ(ours.at_pointer(pointer).get(got), simdjson::SUCCESS) << pointer;
            EXPECT_TRUE(json_equal(want, got))
                << pointer << "\nfixture: " << simdjson::to_string(want)
                << "\nours:    " << simdjson::to_string(got);
        }
    }
}

}  // namespace
}  // namespace sb::providers::gemini
