#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "telemetry/metrics.h"
#include "telemetry/otlp/trace.h"

namespace sb::telemetry::otlp {

// Random trace and span ids (lower-case hex, never all zero). Not thread-safe: one per thread
// (the exporter has its own; a worker that assigns ids on the request path keeps another).
class IdGenerator {
  public:
    IdGenerator();
    explicit IdGenerator(std::uint64_t seed) : rng_(seed) {}
    std::string trace_id();  // 16 bytes -> 32 hex digits
    std::string span_id();   // 8 bytes -> 16 hex digits

  private:
    std::mt19937_64 rng_;
};

// The `resource` every payload carries.
struct Resource {
    std::string service_name = "switchboard";
    std::string service_version;
    std::string instance_id;  // service.instance.id ("" to omit)
};

// An ExportTraceServiceRequest in OTLP/JSON (ids as hex, 64-bit integers as strings): one
// SERVER span per request, named "<operation> <model>", and one CLIENT span per attempt
// whose parent is that server span. A request with a `parent` continues its trace.
std::string encode_traces(const std::vector<RequestTrace>& traces, const Resource& resource,
                          IdGenerator& ids);

// An ExportMetricsServiceRequest in OTLP/JSON: counters as cumulative monotonic sums, gauges
// as gauges, histograms as cumulative explicit-bucket histograms. `start_unix_nano` is when the
// counters started (process start).
std::string encode_metrics(const MetricsSnapshot& snapshot, const Resource& resource,
                           std::uint64_t start_unix_nano, std::uint64_t now_unix_nano);

}  // namespace sb::telemetry::otlp
