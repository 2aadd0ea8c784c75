// Translation cost per request and per streamed chunk, through the Adapter interface, for each
// translating provider (issue #7's benchmark; compare with BM_InspectRequest for passthrough).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "config/config.h"
#include "providers/anthropic/anthropic.h"
#include "providers/gemini/gemini.h"
#include "providers/provider.h"

namespace {

using sb::providers::Adapter;
using sb::providers::ChatContext;

const std::string kChat =
    R"({"model":"m","messages":[{"role":"system","content":"You are helpful."},)"
    R"({"role":"user","content":"Write one sentence about benchmarks."}],"max_tokens":64,)"
    R"("tools":[{"type":"function","function":{"name":"get_weather","description":"w",)"
    R"("parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}]})";

ChatContext context(bool stream) {
    ChatContext ctx;
    ctx.public_model = "m";
    ctx.upstream_model = "upstream-model";
    ctx.stream = stream;
    ctx.response_id = "chatcmpl-bench";
    ctx.created = 1700000000;
    return ctx;
}

sb::config::Provider provider(sb::config::ProviderType type) {
    sb::config::Provider p;
    p.name = "p";
    p.type = type;
    p.base_url = "https://example.com/v1";
    p.api_key = "k";
    return p;
}

void build_chat(benchmark::State& state, const Adapter& a, sb::config::ProviderType type) {
    auto p = provider(type);
    auto ctx = context(false);
    for (auto _ : state) {
        auto r = a.build_chat(p, kChat, ctx);
        benchmark::DoNotOptimize(r);
    }
}

void BM_BuildChat_Anthropic(benchmark::State& state) {
    build_chat(state, sb::providers::anthropic::AnthropicAdapter(),
               sb::config::ProviderType::Anthropic);
}
BENCHMARK(BM_BuildChat_Anthropic);

void BM_BuildChat_Gemini(benchmark::State& state) {
    build_chat(state, sb::providers::gemini::GeminiAdapter(), sb::config::ProviderType::Gemini);
}
BENCHMARK(BM_BuildChat_Gemini);

void BM_TranslateResponse_Anthropic(benchmark::State& state) {
    sb::providers::anthropic::AnthropicAdapter a;
    const std::string body =
        R"({"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[)"
        R"({"type":"text","text":"Benchmarks measure what code costs, not what we hope."}],)"
        R"("stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,)"
        R"("output_tokens":12}})";
    auto ctx = context(false);
    for (auto _ : state) {
        auto r = a.translate_chat_response(body, ctx);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_TranslateResponse_Anthropic);

// One text delta event, as Anthropic streams it: the per-chunk cost of a translated stream.
void BM_StreamChunk_Anthropic(benchmark::State& state) {
    sb::providers::anthropic::AnthropicAdapter a;
    auto ctx = context(true);
    auto decoder = a.make_chat_stream_decoder(ctx);
    std::string out;
    const std::string start =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
        "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],"
        "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
        "\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":"
        "\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"
        "\n\n";
    (void)decoder->feed(start, out);
    const std::string delta =
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Benchmarks \"}}\n\n";
    for (auto _ : state) {
        out.clear();
        auto st = decoder->feed(delta, out);
        benchmark::DoNotOptimize(st);
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(BM_StreamChunk_Anthropic);

}  // namespace
