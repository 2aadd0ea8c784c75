// Hot-path micro-benchmarks: inspecting a client request and rewriting its model in place.
#include <benchmark/benchmark.h>

#include <string>

#include "api/openai_request.h"
#include "core/error.h"

namespace {

std::string chat_body(std::size_t extra_chars) {
    return R"({"model":"mock-gpt","messages":[{"role":"system","content":"You are helpful."},)"
           R"({"role":"user","content":")" +
           std::string(extra_chars, 'x') + R"("}],"stream":true,"max_tokens":64})";
}

void BM_InspectRequest(benchmark::State& state) {
    std::string body = chat_body(static_cast<std::size_t>(state.range(0)));
    body.reserve(body.size() + sb::api::kJsonPadding);
    for (auto _ : state) {
        auto r = sb::api::inspect_request(sb::api::Endpoint::ChatCompletions, body,
                                          body.capacity());
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_InspectRequest)->Arg(64)->Arg(4096)->Arg(65536);

void BM_RewriteModel(benchmark::State& state) {
    std::string body = chat_body(static_cast<std::size_t>(state.range(0)));
    body.reserve(body.size() + sb::api::kJsonPadding);
    auto r = sb::api::inspect_request(sb::api::Endpoint::ChatCompletions, body, body.capacity());
    for (auto _ : state) {
        auto out = sb::api::rewrite_model(body, *r, "gpt-4o-mini-2024-07-18");
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(BM_RewriteModel)->Arg(64)->Arg(4096);

void BM_RenderError(benchmark::State& state) {
    sb::Error e(sb::ErrorCode::ModelNotFound, "The model 'x' does not exist.", "model");
    for (auto _ : state) {
        auto s = sb::render_openai_error(e);
        benchmark::DoNotOptimize(s);
    }
}
BENCHMARK(BM_RenderError);

}  // namespace
