// Cost of the inbound Anthropic translation (src/inbound/anthropic/) per request and per
// streamed chunk: compare with BM_BuildChat_* and BM_StreamChunk_* for the outbound adapters.
#include <benchmark/benchmark.h>

#include <string>

#include "inbound/anthropic/messages.h"

namespace {

namespace inbound = sb::inbound::anthropic;

const std::string kMessages =
    R"({"model":"m","max_tokens":64,"system":"You are helpful.","messages":[)"
    R"({"role":"user","content":"Write one sentence about benchmarks."}],)"
    R"("tools":[{"name":"get_weather","description":"w","input_schema":{"type":"object",)"
    R"("properties":{"location":{"type":"string"}}}}]})";

inbound::ResponseContext context() {
    inbound::ResponseContext ctx;
    ctx.message_id = "msg_bench";
    ctx.model = "m";
    return ctx;
}

void BM_AnthropicInbound_ParseRequest(benchmark::State& state) {
    for (auto _ : state) {
        auto r = inbound::parse(inbound::Endpoint::Messages, kMessages);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_AnthropicInbound_ParseRequest);

void BM_AnthropicInbound_ToOpenAIChat(benchmark::State& state) {
    for (auto _ : state) {
        auto r = inbound::to_openai_chat(kMessages);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_AnthropicInbound_ToOpenAIChat);

void BM_AnthropicInbound_Response(benchmark::State& state) {
    const std::string body =
        R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m",)"
        R"("choices":[{"index":0,"message":{"role":"assistant","content":"Benchmarks measure.")"
        R"(},"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":4,)"
        R"("total_tokens":29}})";
    const inbound::ResponseContext ctx = context();
    for (auto _ : state) {
        auto r = inbound::to_anthropic_response(body, ctx);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_AnthropicInbound_Response);

// One OpenAI text delta chunk into an open text block: the per-chunk cost of a stream.
void BM_AnthropicInbound_StreamChunk(benchmark::State& state) {
    inbound::StreamTranslator translator(context());
    std::string out;
    (void)translator.feed(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\n\n", out);
    const std::string chunk =
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
        "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Benchmarks \"},"
        "\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    for (auto _ : state) {
        out.clear();
        auto st = translator.feed(chunk, out);
        benchmark::DoNotOptimize(st);
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(BM_AnthropicInbound_StreamChunk);

}  // namespace
