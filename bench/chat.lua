-- wrk script: POST a small chat completion (non-stream). MODEL comes from the environment.
local model = os.getenv("BENCH_MODEL") or "mock-gpt"
local stream = os.getenv("BENCH_STREAM") == "1"
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "bench")
wrk.body = '{"model":"' .. model .. '","stream":' .. (stream and "true" or "false") ..
  ',"messages":[{"role":"system","content":"You are a helpful assistant."},' ..
  '{"role":"user","content":"Write one sentence about benchmarks."}],"max_tokens":64}'

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d p50_us=%d p99_us=%d rps=%.1f\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99),
    summary.requests / (summary.duration / 1e6)))
end
