// Governance on the request path: authenticate (API key or RS256 JWT) + authorize + admit +
// settle, single- and multi-threaded (shared counters).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "config/config.h"
#include "governance/governance.h"
#include "governance/keys.h"

namespace {

using namespace sb::governance;

const std::string& bench_key() {
    static const std::string key = std::string(kKeyPrefix) + std::string(43, 'Q');
    return key;
}

std::shared_ptr<Governance> make_governance(bool limits) {
    std::string yaml = "auth:\n  teams: {eng: {models: [\"gpt-*\"]";
    yaml += limits ? ", limits: {requests_per_minute: 1000000000, tokens_per_minute: "
                     "1000000000000}, budget: {daily: 1000000000}}}\n"
                   : "}}\n";
    yaml += "  keys:\n";
    // 10,000 keys, so the lookup is not a one-entry map.
    for (int i = 0; i < 10000; ++i) {
        const std::string k = i == 0 ? bench_key() : generate_key().secret;
        yaml += "    k" + std::to_string(i) + ": {hash: \"" + to_hex(sha256(k)) +
                "\", team: eng, models: [\"gpt-4o*\"]";
        if (limits && i == 0) {
            yaml +=
                ", limits: {requests_per_minute: 1000000000, tokens_per_day: 1000000000000}"
                ", budget: {monthly: 1000000000}, model_limits: {\"gpt-4o\": "
                "{requests_per_minute: 1000000000}}";
        }
        yaml += "}\n";
    }
    auto cfg = sb::config::parse(yaml, [](std::string_view) { return std::nullopt; });
    Options o;
    o.start_threads = false;
    return *Governance::create(*cfg, o);
}

void run_pipeline(benchmark::State& state, Governance& gov) {
    const std::string header = "Bearer " + bench_key();
    const Estimate est{300, 500, Price{2.5, 10.0, 1.25}};
    for (auto _ : state) {
        auto p = gov.authenticate(header, "");
        auto ok = gov.authorize(*p, "gpt-4o");
        auto adm = gov.admit(*p, "gpt-4o", est);
        adm->settle(Usage{280, 120, 0}, Price{2.5, 10.0, 1.25});
        benchmark::DoNotOptimize(ok);
    }
}

void BM_GovernanceKeyNoLimits(benchmark::State& state) {
    static auto gov = make_governance(false);
    run_pipeline(state, *gov);
}
BENCHMARK(BM_GovernanceKeyNoLimits);

// 9 counters per request: key rpm/tpd/monthly spend, key x model rpm, team rpm/tpm/daily spend.
void BM_GovernanceKeyWithLimits(benchmark::State& state) {
    static auto gov = make_governance(true);
    run_pipeline(state, *gov);
}
BENCHMARK(BM_GovernanceKeyWithLimits)->ThreadRange(1, 4)->UseRealTime();

void BM_GovernanceJwtRs256(benchmark::State& state) {
    static std::shared_ptr<EVP_PKEY> key(EVP_RSA_gen(2048), EVP_PKEY_free);
    static std::shared_ptr<Governance> gov = [] {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
        PEM_write_bio_PUBKEY(bio.get(), key.get());
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio.get(), &data);
        std::string pem(data, static_cast<std::size_t>(n));
        std::string yaml =
            "auth:\n  jwt:\n    issuers:\n      idp:\n        issuer: https://idp\n"
            "        algorithm: RS256\n        public_key: |\n";
        for (std::size_t pos = 0; pos < pem.size();) {
            const std::size_t nl = pem.find('\n', pos);
            yaml += "          " + pem.substr(pos, nl - pos) + "\n";
            pos = nl + 1;
        }
        auto cfg = sb::config::parse(yaml, [](std::string_view) { return std::nullopt; });
        Options o;
        o.start_threads = false;
        return *Governance::create(*cfg, o);
    }();
    auto b64 = [](std::string_view in) {
        std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
        out.resize(static_cast<std::size_t>(EVP_EncodeBlock(
            reinterpret_cast<unsigned char*>(out.data()),
            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()))));
        while (!out.empty() && out.back() == '=') {
            out.pop_back();
        }
        for (char& c : out) {
            c = c == '+' ? '-' : c == '/' ? '_' : c;
        }
        return out;
    };
    const std::string input = b64(R"({"alg":"RS256","typ":"JWT"})") + "." +
                              b64(R"({"iss":"https://idp","sub":"alice","exp":4000000000})");
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get());
    std::size_t len = 0;
    EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    const std::string header = "Bearer " + input + "." + b64(sig);
    for (auto _ : state) {
        auto p = gov->authenticate(header, "");
        benchmark::DoNotOptimize(p);
    }
}
BENCHMARK(BM_GovernanceJwtRs256);

}  // namespace
