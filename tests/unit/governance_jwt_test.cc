// JWT verification: RS256/ES256 from static PEM keys and from a JWKS served by a real HTTP
// server on 127.0.0.1:0, and the refusal matrix with exact status and code.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/error.h"
#include "governance/governance.h"
#include "governance/jwt.h"

namespace sb::governance {
namespace {

namespace json = boost::json;

std::string b64url(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(in.data()),
                                  static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '=') {
        out.pop_back();
    }
    for (char& c : out) {
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    return out;
}

using PKey = std::shared_ptr<EVP_PKEY>;

PKey rsa_key() {
    return PKey(EVP_RSA_gen(2048), EVP_PKEY_free);
}
PKey ec_key() {
    return PKey(EVP_EC_gen("P-256"), EVP_PKEY_free);
}

std::string public_pem(const PKey& k) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), k.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string bn_param(const PKey& k, const char* name, int pad = 0) {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(k.get(), name, &bn);
    std::string out(static_cast<std::size_t>(pad > 0 ? pad : BN_num_bytes(bn)), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
    BN_free(bn);
    return out;
}

json::object jwk(const PKey& k, const std::string& kid) {
    json::object o;
    o["kid"] = kid;
    o["use"] = "sig";
    if (EVP_PKEY_get_base_id(k.get()) == EVP_PKEY_RSA) {
        o["kty"] = "RSA";
        o["alg"] = "RS256";
        o["n"] = b64url(bn_param(k, OSSL_PKEY_PARAM_RSA_N));
        o["e"] = b64url(bn_param(k, OSSL_PKEY_PARAM_RSA_E));
    } else {
        o["kty"] = "EC";
        o["crv"] = "P-256";
        o["x"] = b64url(bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, 32));
        o["y"] = b64url(bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    }
    return o;
}

std::string jwks(std::initializer_list<std::pair<PKey, std::string>> keys) {
    json::array a;
    for (const auto& [k, kid] : keys) {
        a.push_back(jwk(k, kid));
    }
    json::object o;
    o["keys"] = std::move(a);
    return json::serialize(o);
}

std::string sign_raw(const PKey& k, std::string_view input) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, k.get());
    std::size_t len = 0;
    EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    if (EVP_PKEY_get_base_id(k.get()) == EVP_PKEY_EC) {
        // DER -> r||s (RFC 7518 §3.4).
        const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
        ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
        std::string raw(64, '\0');
        BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
        ECDSA_SIG_free(es);
        return raw;
    }
    return sig;
}

std::string make_jwt(const json::object& header, const json::object& payload, const PKey& k) {
    const std::string input =
        b64url(json::serialize(header)) + "." + b64url(json::serialize(payload));
    return input + "." + b64url(sign_raw(k, input));
}

constexpr std::int64_t kNow = 1'800'000'000'000;  // ms

json::object claims(std::int64_t exp_s = kNow / 1000 + 600) {
    json::object p;
    p["iss"] = "https://idp.example";
    p["aud"] = "switchboard";
    p["sub"] = "alice";
    p["grp"] = "eng";
    p["scope_roles"] = json::array{"dev"};
    p["exp"] = exp_s;
    p["iat"] = kNow / 1000;
    return p;
}

json::object header(std::string_view alg, std::string_view kid = {}) {
    json::object h;
    h["alg"] = alg;
    h["typ"] = "JWT";
    if (!kid.empty()) {
        h["kid"] = kid;
    }
    return h;
}

// A tiny HTTP/1.1 server on 127.0.0.1:0 serving one body; stop() closes the listener so later
// connections are refused (the "JWKS endpoint is down" case).
class JwksServer {
  public:
    JwksServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(fd_, 16);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~JwksServer() { stop(); }

    void set_body(std::string body, int status = 200) {
        std::lock_guard lock(mu_);
        body_ = std::move(body);
        status_ = status;
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/jwks.json"; }
    int hits() const { return hits_.load(); }
    void stop() {
        if (fd_ >= 0) {
            ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
            thread_.join();
            ::close(fd_);
            fd_ = -1;
        }
    }

  private:
    void serve() {
        while (true) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) {
                return;
            }
            std::string req;
            char buf[4096];
            while (req.find("\r\n\r\n") == std::string::npos) {
                const ssize_t n = ::read(c, buf, sizeof buf);
                if (n <= 0) {
                    break;
                }
                req.append(buf, static_cast<std::size_t>(n));
            }
            std::string body;
            int status = 200;
            {
                std::lock_guard lock(mu_);
                body = body_;
                status = status_;
            }
            ++hits_;
            const std::string resp = "HTTP/1.1 " + std::to_string(status) +
                                     " X\r\nContent-Type: application/json\r\nContent-Length: " +
                                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                                     body;
            std::size_t off = 0;
            while (off < resp.size()) {
                const ssize_t n = ::write(c, resp.data() + off, resp.size() - off);
                if (n <= 0) {
                    break;
                }
                off += static_cast<std::size_t>(n);
            }
            ::close(c);
        }
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::mutex mu_;
    std::string body_;
    int status_ = 200;
    std::atomic<int> hits_{0};
};

std::string issuer_yaml(std::string_view alg, std::string_view key_line) {
    return std::string(R"(
auth:
  teams: {eng: {}}
  roles: {dev: {models: ["gpt-*"]}}
  jwt:
    issuers:
      idp:
        issuer: https://idp.example
        audience: [other, switchboard]
        algorithm: )") +
           std::string(alg) + R"(
        leeway: 30s
        jwks_ttl: 1h
        claims: {user: sub, team: grp, roles: scope_roles}
)" + std::string(key_line);
}

std::string indent_pem(const std::string& pem) {
    std::string out = "        public_key: |\n";
    std::size_t start = 0;
    while (start < pem.size()) {
        const std::size_t nl = pem.find('\n', start);
        out += "          " + pem.substr(start, nl - start) + "\n";
        start = nl == std::string::npos ? pem.size() : nl + 1;
    }
    return out;
}

struct Fixture {
    std::atomic<std::int64_t> now{kNow};
    std::shared_ptr<Governance> gov;

    void make(const std::string& yaml) {
        auto cfg = config::parse(yaml, [](std::string_view) { return std::nullopt; });
        ASSERT_TRUE(cfg) << cfg.error().message;
        Options o;
        o.now_ms = [this] { return now.load(); };
        o.start_threads = false;
        auto g = Governance::create(*cfg, o);
        ASSERT_TRUE(g) << g.error().message;
        gov = *g;
    }
    Result<Principal> auth(const std::string& token) const {
        return gov->authenticate("Bearer " + token, "");
    }
};

void expect_refused(const Result<Principal>& r, int status, std::string_view code) {
    ASSERT_FALSE(r);
    EXPECT_EQ(http_status(r.error()), status) << r.error().message;
    EXPECT_EQ(error_code_name(r.error()), code) << r.error().message;
}

TEST(Base64Url, IsStrict) {
    EXPECT_EQ(base64url_decode("aGk").value(), "hi");
    EXPECT_FALSE(base64url_decode("aGk="));  // padding
    EXPECT_FALSE(base64url_decode("aG+k"));  // standard alphabet
    EXPECT_FALSE(base64url_decode("aGl"));   // non-zero unused bits ("hi" is aGk)
    EXPECT_FALSE(base64url_decode("a"));     // impossible length
    EXPECT_FALSE(base64url_decode("aG k"));
}

class StaticRsa : public ::testing::Test {
  protected:
    void SetUp() override { f.make(issuer_yaml("RS256", indent_pem(public_pem(key)))); }
    PKey key = rsa_key();
    Fixture f;
};

TEST_F(StaticRsa, AcceptsValidTokenAndMapsClaims) {
    auto p = f.auth(make_jwt(header("RS256"), claims(), key));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->kind, Principal::Kind::Jwt);
    EXPECT_EQ(p->user, "alice");
    EXPECT_EQ(p->team, "eng");
    ASSERT_EQ(p->roles.size(), 1u);
    EXPECT_EQ(p->roles[0], "dev");
    EXPECT_EQ(p->id, "jwt:idp:alice");
    EXPECT_TRUE(f.gov->authorize(*p, "gpt-4o"));
    EXPECT_FALSE(f.gov->authorize(*p, "claude-3"));  // role dev allows gpt-* only
}

TEST_F(StaticRsa, RefusesAlgNone) {
    const std::string input =
        b64url(json::serialize(header("none"))) + "." + b64url(json::serialize(claims()));
    expect_refused(f.auth(input + "."), 401, "invalid_api_key");
    expect_refused(f.auth(input + "." + b64url("x")), 401, "invalid_api_key");
}

TEST_F(StaticRsa, RefusesHs256SignedWithThePublicKey) {
    const std::string pem = public_pem(key);
    const std::string input =
        b64url(json::serialize(header("HS256"))) + "." + b64url(json::serialize(claims()));
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    const std::string token = input + "." + b64url(std::string(reinterpret_cast<char*>(mac), len));
    expect_refused(f.auth(token), 401, "invalid_api_key");
}

TEST_F(StaticRsa, RefusesExpiredTokenBeyondLeeway) {
    expect_refused(f.auth(make_jwt(header("RS256"), claims(kNow / 1000 - 31), key)), 401,
                   "invalid_api_key");
    EXPECT_TRUE(f.auth(make_jwt(header("RS256"), claims(kNow / 1000 - 29), key)));  // leeway
    auto no_exp = claims();
    no_exp.erase("exp");
    expect_refused(f.auth(make_jwt(header("RS256"), no_exp, key)), 401, "invalid_api_key");
}

TEST_F(StaticRsa, AcceptsFarFutureAndFractionalTimes) {
    auto c = claims();
    c["exp"] = 1e300;
    c["nbf"] = 1.5;
    auto p = f.auth(make_jwt(header("RS256"), c, key));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->expires_at, 1'000'000'000'000'000);
    c["exp"] = static_cast<double>(kNow) / 1000.0 - 30.5;  // just past the 30 s leeway
    expect_refused(f.auth(make_jwt(header("RS256"), c, key)), 401, "invalid_api_key");
}

TEST_F(StaticRsa, AVerifiedTokenStopsWorkingWhenItExpires) {
    const std::string token = make_jwt(header("RS256"), claims(kNow / 1000 + 60), key);
    EXPECT_TRUE(f.auth(token));
    EXPECT_TRUE(f.auth(token));  // from the verified-token cache
    f.now += 89'000;             // exp + 29 s: inside the leeway
    EXPECT_TRUE(f.auth(token));
    f.now += 2'000;
    expect_refused(f.auth(token), 401, "invalid_api_key");
}

TEST_F(StaticRsa, RefusesFutureNotBefore) {
    auto c = claims();
    c["nbf"] = kNow / 1000 + 120;
    expect_refused(f.auth(make_jwt(header("RS256"), c, key)), 401, "invalid_api_key");
    c["nbf"] = kNow / 1000 + 10;  // within leeway
    EXPECT_TRUE(f.auth(make_jwt(header("RS256"), c, key)));
}

TEST_F(StaticRsa, RefusesWrongIssuerAndAudience) {
    auto c = claims();
    c["iss"] = "https://evil.example";
    expect_refused(f.auth(make_jwt(header("RS256"), c, key)), 401, "invalid_api_key");
    c = claims();
    c["aud"] = "someone-else";
    expect_refused(f.auth(make_jwt(header("RS256"), c, key)), 401, "invalid_api_key");
    c["aud"] = json::array{"x", "switchboard"};
    EXPECT_TRUE(f.auth(make_jwt(header("RS256"), c, key)));
    c.erase("aud");
    expect_refused(f.auth(make_jwt(header("RS256"), c, key)), 401, "invalid_api_key");
}

TEST_F(StaticRsa, RefusesBadSignatureAndOtherKey) {
    std::string token = make_jwt(header("RS256"), claims(), key);
    // Change the payload after signing.
    auto c = claims();
    c["sub"] = "mallory";
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = token.find('.', dot1 + 1);
    const std::string forged =
        token.substr(0, dot1 + 1) + b64url(json::serialize(c)) + token.substr(dot2);
    expect_refused(f.auth(forged), 401, "invalid_api_key");
    expect_refused(f.auth(make_jwt(header("RS256"), claims(), rsa_key())), 401, "invalid_api_key");
}

TEST_F(StaticRsa, RefusesMalformedTokens) {
    expect_refused(f.auth("a.b.c"), 401, "invalid_api_key");
    expect_refused(f.auth(b64url("[1]") + "." + b64url("{}") + ".AA"), 401, "invalid_api_key");
    auto h = header("RS256");
    h["crit"] = json::array{"exp"};
    expect_refused(f.auth(make_jwt(h, claims(), key)), 401, "invalid_api_key");
    auto c = claims();
    c["exp"] = "tomorrow";
    expect_refused(f.auth(make_jwt(header("RS256"), c, key)), 401, "invalid_api_key");
}

TEST_F(StaticRsa, RefusesDuplicateMemberNames) {
    // Signed correctly, but the header names alg twice: parsers could disagree on which wins.
    auto sign = [&](const std::string& header_json, const std::string& payload_json) {
        const std::string input = b64url(header_json) + "." + b64url(payload_json);
        return input + "." + b64url(sign_raw(key, input));
    };
    const std::string payload = json::serialize(claims());
    EXPECT_TRUE(f.auth(sign(R"({"alg":"RS256","typ":"JWT"})", payload)));
    expect_refused(f.auth(sign(R"({"alg":"RS256","alg":"none"})", payload)), 401,
                   "invalid_api_key");
    std::string dup_sub = payload;
    dup_sub.insert(1, R"("sub":"mallory",)");
    expect_refused(f.auth(sign(R"({"alg":"RS256"})", dup_sub)), 401, "invalid_api_key");
    // Same name in different objects is fine.
    std::string nested = payload;
    nested.insert(1, R"("x":{"sub":1},)");
    EXPECT_TRUE(f.auth(sign(R"({"alg":"RS256"})", nested)));
}

TEST(StaticEs256, AcceptsValidAndRefusesRsaSignedToken) {
    const PKey key = ec_key();
    Fixture f;
    f.make(issuer_yaml("ES256", indent_pem(public_pem(key))));
    auto p = f.auth(make_jwt(header("ES256"), claims(), key));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->user, "alice");
    expect_refused(f.auth(make_jwt(header("RS256"), claims(), rsa_key())), 401, "invalid_api_key");
    expect_refused(f.auth(make_jwt(header("ES256"), claims(), ec_key())), 401, "invalid_api_key");
}

TEST(JwtConfig, RefusesKeyOfWrongTypeForAlgorithm) {
    auto cfg = config::parse(issuer_yaml("ES256", indent_pem(public_pem(rsa_key()))),
                             [](std::string_view) { return std::nullopt; });
    ASSERT_TRUE(cfg) << cfg.error().message;
    Options o;
    o.start_threads = false;
    auto g = Governance::create(*cfg, o);
    ASSERT_FALSE(g);
    EXPECT_NE(g.error().message.find("auth.jwt.issuers.idp.public_key"), std::string::npos);
}

class Jwks : public ::testing::Test {
  protected:
    void SetUp() override {
        server.set_body(jwks({{k1, "k1"}, {ec, "ec-ignored"}}));
        f.make(issuer_yaml("RS256", "        jwks_url: " + server.url() + "\n"));
    }
    PKey k1 = rsa_key();
    PKey ec = ec_key();
    JwksServer server;
    Fixture f;
};

TEST_F(Jwks, AcceptsTokenSignedWithAFetchedKey) {
    EXPECT_EQ(server.hits(), 1);  // fetched once at start
    auto p = f.auth(make_jwt(header("RS256", "k1"), claims(), k1));
    ASSERT_TRUE(p) << p.error().message;
}

TEST_F(Jwks, RefusesUnknownKidThenAcceptsItAfterRotation) {
    const PKey k2 = rsa_key();
    const std::string token = make_jwt(header("RS256", "k2"), claims(), k2);
    expect_refused(f.auth(token), 401, "invalid_api_key");
    server.set_body(jwks({{k1, "k1"}, {k2, "k2"}}));
    EXPECT_EQ(f.gov->refresh_jwks_now(), 0);
    EXPECT_TRUE(f.auth(token));
    EXPECT_TRUE(f.auth(make_jwt(header("RS256", "k1"), claims(), k1)));
}

TEST_F(Jwks, AVerifiedTokenIsRefusedOnceItsKeyIsRotatedOut) {
    const std::string token = make_jwt(header("RS256", "k1"), claims(), k1);
    EXPECT_TRUE(f.auth(token));
    EXPECT_TRUE(f.auth(token));  // cached
    const PKey k2 = rsa_key();
    server.set_body(jwks({{k2, "k2"}}));
    EXPECT_EQ(f.gov->refresh_jwks_now(), 0);
    expect_refused(f.auth(token), 401, "invalid_api_key");
    EXPECT_TRUE(f.auth(make_jwt(header("RS256", "k2"), claims(), k2)));
}

TEST_F(Jwks, KeepsCachedKeysWhileEndpointIsDownUntilTtl) {
    const std::string token = make_jwt(header("RS256", "k1"), claims(kNow / 1000 + 7200), k1);
    server.stop();
    f.now += 30 * 60 * 1000;  // 30 min later the refresh fails...
    EXPECT_EQ(f.gov->refresh_jwks_now(), 1);
    EXPECT_TRUE(f.auth(token));  // ...but the cached keys still verify
    const std::string other = make_jwt(header("RS256", "k1"), claims(kNow / 1000 + 7000), k1);
    EXPECT_TRUE(f.auth(other));  // also a token never seen before
    f.now += 31 * 60 * 1000;     // past jwks_ttl (1h) since the last good fetch
    expect_refused(f.auth(token), 503, "service_unavailable");
    expect_refused(f.auth(other), 503, "service_unavailable");
}

TEST_F(Jwks, ServerErrorKeepsLastGoodKeys) {
    server.set_body("oops", 500);
    EXPECT_EQ(f.gov->refresh_jwks_now(), 1);
    EXPECT_TRUE(f.auth(make_jwt(header("RS256", "k1"), claims(), k1)));
}

TEST(JwksEs256, ImportsEcKeysAndSkipsRsaOnes) {
    JwksServer server;
    const PKey ec1 = ec_key();
    const PKey rsa = rsa_key();
    server.set_body(jwks({{ec1, "e1"}, {rsa, "r1"}}));
    Fixture f;
    f.make(issuer_yaml("ES256", "        jwks_url: " + server.url() + "\n"));
    auto p = f.auth(make_jwt(header("ES256", "e1"), claims(), ec1));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->user, "alice");
    // The RSA key in the set is not usable for an ES256 issuer.
    expect_refused(f.auth(make_jwt(header("RS256", "r1"), claims(), rsa)), 401, "invalid_api_key");
    expect_refused(f.auth(make_jwt(header("ES256", "r1"), claims(), ec_key())), 401,
                   "invalid_api_key");
    // Another EC key under the known kid: bad signature.
    expect_refused(f.auth(make_jwt(header("ES256", "e1"), claims(), ec_key())), 401,
                   "invalid_api_key");
}

TEST(JwksDown, WithoutCachedKeysTokensGet503) {
    JwksServer server;
    const std::string url = server.url();
    server.stop();  // never reachable
    Fixture f;
    f.make(issuer_yaml("RS256", "        jwks_url: " + url + "\n"));
    const PKey k = rsa_key();
    expect_refused(f.auth(make_jwt(header("RS256", "k1"), claims(), k)), 503,
                   "service_unavailable");
}

TEST(JwksBackground, UnknownKidWakesTheFetcherThread) {
    JwksServer server;
    const PKey k1 = rsa_key();
    const PKey k2 = rsa_key();
    server.set_body(jwks({{k1, "k1"}}));
    auto cfg = config::parse(issuer_yaml("RS256", "        jwks_url: " + server.url() + "\n"),
                             [](std::string_view) { return std::nullopt; });
    ASSERT_TRUE(cfg);
    std::mutex mu;
    std::condition_variable cv;
    int rounds = 0;
    Options o;
    o.on_jwks_refreshed = [&] {
        std::lock_guard lock(mu);
        ++rounds;
        cv.notify_all();
    };
    auto g = Governance::create(*cfg, o);  // real clock, background thread running
    ASSERT_TRUE(g) << g.error().message;
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    const std::string token = make_jwt(header("RS256", "k2"), claims(now_s + 600), k2);
    server.set_body(jwks({{k1, "k1"}, {k2, "k2"}}));
    EXPECT_FALSE((*g)->authenticate("Bearer " + token, ""));  // asks for an early refresh
    {
        std::unique_lock lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return rounds > 0; }));
    }
    EXPECT_TRUE((*g)->authenticate("Bearer " + token, ""));
    EXPECT_GE(server.hits(), 2);
}

#ifdef SB_FUZZ_CORPUS_DIR
// Replays fuzz/corpus/jwt (the jwt_fuzz target's seeds and findings) the way the target does:
// nothing crashes, and nothing authenticates without the private key.
TEST(JwtFuzzCorpus, ReplaysWithoutCrashOrAcceptance) {
    Fixture f;
    f.make(issuer_yaml("RS256", indent_pem(public_pem(rsa_key()))) + "  keys: {k: {hash: \"" +
           std::string(64, 'a') + "\"}}\n");
    const std::filesystem::path dir = std::filesystem::path(SB_FUZZ_CORPUS_DIR) / "jwt";
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string bytes = ss.str();
        SCOPED_TRACE(entry.path().filename().string());
        EXPECT_FALSE(f.gov->authenticate("Bearer " + bytes, ""));
        EXPECT_FALSE(f.gov->authenticate("", bytes));
        (void)parse_jwks(bytes, config::JwtAlgorithm::RS256);
        (void)parse_jwks(bytes, config::JwtAlgorithm::ES256);
        (void)base64url_decode(bytes);
        ++files;
    }
    EXPECT_GE(files, 9);
}
#endif

}  // namespace
}  // namespace sb::governance
