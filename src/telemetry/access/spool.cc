#include "telemetry/access/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace sb::telemetry::access {

namespace {

constexpr std::string_view kPrefix = "seg-";
constexpr std::string_view kSuffix = ".spool";
constexpr std::size_t kIdDigits = 20;

// Stores `v` little-endian at out[at, at + 4).
void set_u32(std::string& out, std::size_t at, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i) {
        out[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

std::uint32_t get_u32(std::string_view in, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
    }
    return v;
}

Error io_error(std::string_view what, const std::string& path) {
    return Error{ErrorCode::Internal, fmt::format("{} {}: {}", what, path, std::strerror(errno))};
}

// CRC-32C, reflected, polynomial 0x1EDC6F41 (0x82F63B78 reversed), initial value and final XOR
// 0xFFFFFFFF. Software: one byte per step from a table built at compile time.
constexpr std::array<std::uint32_t, 256> kCrc32cTable = [] {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c >> 1) ^ ((c & 1) != 0 ? 0x82F63B78u : 0u);
        }
        table[i] = c;
    }
    return table;
}();

std::uint32_t crc32c_software(std::uint32_t crc, std::string_view bytes) {
    for (char ch : bytes) {
        crc = kCrc32cTable[(crc ^ static_cast<unsigned char>(ch)) & 0xff] ^ (crc >> 8);
    }
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc,
                                                             std::string_view bytes) {
    const char* p = bytes.data();
    std::size_t n = bytes.size();
    std::uint64_t c = crc;
    for (; n >= 8; n -= 8, p += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
    }
    auto c32 = static_cast<std::uint32_t>(c);
    for (; n > 0; --n, ++p) {
        c32 = __builtin_ia32_crc32qi(c32, static_cast<unsigned char>(*p));
    }
    return c32;
}

// Initialised during static initialisation, possibly before libgcc's own CPU probe has run.
const bool kHaveSse42 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
}();
#endif

}  // namespace

std::uint32_t crc32c(std::string_view bytes) {
#if defined(__x86_64__)
    if (kHaveSse42) {
        return crc32c_sse42(0xFFFFFFFFu, bytes) ^ 0xFFFFFFFFu;
    }
#endif
    return crc32c_portable(bytes);
}

std::uint32_t crc32c_portable(std::string_view bytes) {
    return crc32c_software(0xFFFFFFFFu, bytes) ^ 0xFFFFFFFFu;
}

std::uint32_t crc32(std::string_view bytes) {
    uLong crc = ::crc32(0L, Z_NULL, 0);
    // zlib takes uInt lengths; feed large inputs in pieces.
    while (!bytes.empty()) {
        std::size_t n = std::min<std::size_t>(bytes.size(), 1u << 30);
        crc = ::crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(n));
        bytes.remove_prefix(n);
    }
    return static_cast<std::uint32_t>(crc);
}

std::size_t begin_frame(std::string& out) {
    const std::size_t offset = out.size();
    out.append(8, '\0');
    return offset;
}

void end_frame(std::string& out, std::size_t frame_offset) {
    const std::string_view payload = std::string_view(out).substr(frame_offset + 8);
    const auto size = static_cast<std::uint32_t>(payload.size());
    const std::uint32_t crc = crc32c(payload);
    set_u32(out, frame_offset, size);
    set_u32(out, frame_offset + 4, crc);
}

void append_frame(std::string& out, std::string_view payload) {
    const std::size_t offset = begin_frame(out);
    out.append(payload);
    end_frame(out, offset);
}

std::string segment_file_name(std::uint64_t id) {
    return fmt::format("{}{:020d}{}", kPrefix, id, kSuffix);
}

std::uint64_t parse_segment_file_name(std::string_view name) {
    if (name.size() != kPrefix.size() + kIdDigits + kSuffix.size() || !name.starts_with(kPrefix) ||
        !name.ends_with(kSuffix)) {
        return 0;
    }
    std::uint64_t id = 0;
    for (char c : name.substr(kPrefix.size(), kIdDigits)) {
        if (c < '0' || c > '9') {
            return 0;
        }
        std::uint64_t next = id * 10 + static_cast<std::uint64_t>(c - '0');
        if (next / 10 != id) {
            return 0;  // overflow
        }
        id = next;
    }
    return id;
}

Result<SegmentContents> parse_segment(std::string_view bytes) {
    std::uint32_t (*checksum)(std::string_view) = nullptr;
    if (bytes.starts_with(kSegmentMagic)) {
        checksum = crc32c;
    } else if (bytes.starts_with(kSegmentMagicV1)) {
        checksum = crc32;
    } else {
        return fail(ErrorCode::Internal, "not a spool segment (bad magic)");
    }
    SegmentContents out;
    out.file_bytes = bytes.size();
    std::size_t pos = kSegmentMagic.size();
    while (bytes.size() - pos >= 8) {
        std::uint32_t len = get_u32(bytes, pos);
        std::uint32_t crc = get_u32(bytes, pos + 4);
        if (len == 0) {
            break;  // not a frame: the end of what was written (or corruption, see below)
        }
        if (len > kMaxFrameBytes || bytes.size() - pos - 8 < len) {
            break;
        }
        std::string_view payload = bytes.substr(pos + 8, len);
        if (checksum(payload) != crc) {
            break;
        }
        out.payloads.emplace_back(payload);
        pos += 8 + len;
    }
    out.valid_bytes = pos;
    const std::string_view rest = bytes.substr(pos);
    out.torn = std::any_of(rest.begin(), rest.end(), [](char c) { return c != 0; });
    return out;
}

Result<SegmentContents> read_segment(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(io_error("cannot open spool segment", path));
    }
    std::string data;
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            Error e = io_error("cannot read spool segment", path);
            ::close(fd);
            return fail(std::move(e));
        }
        if (n == 0) {
            break;
        }
        data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const std::string_view head = std::string_view(data).substr(0, kSegmentMagic.size());
    if ((data.size() < kSegmentMagic.size() && kSegmentMagic.starts_with(data)) ||
        std::all_of(head.begin(), head.end(), [](char c) { return c == 0; })) {
        // Created, but the magic never (fully) reached the disk: an empty segment.
        SegmentContents empty;
        empty.file_bytes = data.size();
        empty.torn = std::any_of(data.begin(), data.end(), [](char c) { return c != 0; });
        return empty;
    }
    auto parsed = parse_segment(data);
    if (!parsed) {
        return fail(ErrorCode::Internal, fmt::format("{}: {}", path, parsed.error().message));
    }
    return parsed;
}

Result<std::vector<std::uint64_t>> list_segments(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        return fail(io_error("cannot list spool directory", dir));
    }
    std::vector<std::uint64_t> ids;
    while (const dirent* e = ::readdir(d)) {
        if (std::uint64_t id = parse_segment_file_name(e->d_name); id != 0) {
            ids.push_back(id);
        }
    }
    ::closedir(d);
    std::sort(ids.begin(), ids.end());
    return ids;
}

Result<SegmentWriter> SegmentWriter::create(const std::string& dir, std::uint64_t id, bool mapped) {
    std::string path = dir + "/" + segment_file_name(id);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        return fail(io_error("cannot create spool segment", path));
    }
    SegmentWriter w(fd, id, std::move(path));
    if (!mapped || !w.reserve(kInitialReserve)) {
        // No preallocation or shared mapping here (or no space for the first chunk): plain
        // writes, which report a full disk the same way.
        w.release();
        if (::ftruncate(w.fd_, 0) != 0) {
            return fail(io_error("cannot truncate spool segment", w.path_));
        }
    }
    if (auto st = w.append(kSegmentMagic); !st) {
        return fail(st.error());
    }
    return w;
}

SegmentWriter::SegmentWriter(SegmentWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      id_(other.id_),
      path_(std::move(other.path_)),
      bytes_(other.bytes_),
      map_(std::exchange(other.map_, nullptr)),
      reserved_(std::exchange(other.reserved_, 0)) {}

SegmentWriter& SegmentWriter::operator=(SegmentWriter&& other) noexcept {
    if (this != &other) {
        release();
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(other.fd_, -1);
        id_ = other.id_;
        path_ = std::move(other.path_);
        bytes_ = other.bytes_;
        map_ = std::exchange(other.map_, nullptr);
        reserved_ = std::exchange(other.reserved_, 0);
    }
    return *this;
}

SegmentWriter::~SegmentWriter() {
    release();
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void SegmentWriter::release() {
    if (map_ != nullptr) {
        ::munmap(map_, reserved_);
        map_ = nullptr;
    }
    reserved_ = 0;
}

Status SegmentWriter::reserve(std::uint64_t needed) {
    if (needed <= reserved_) {
        return {};
    }
    std::uint64_t size = std::max(reserved_, kInitialReserve);
    while (size < needed) {
        size += std::min(size, kMaxGrowth);
    }
    // Blocks first: pages of the mapping are then backed, so storing to them cannot fault on a
    // full disk. fallocate(2) also extends the file size. Not posix_fallocate(): where the file
    // system cannot preallocate, glibc emulates it with a write per block, under the spool lock;
    // create() falls back to plain writes instead.
    if (::fallocate(fd_, 0, static_cast<off_t>(reserved_), static_cast<off_t>(size - reserved_)) !=
        0) {
        return fail(io_error("cannot preallocate spool segment", path_));
    }
    void* p = map_ == nullptr ? ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0)
                              : ::mremap(map_, reserved_, size, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) {
        return fail(io_error("cannot map spool segment", path_));
    }
    map_ = static_cast<char*>(p);
    reserved_ = size;
    return {};
}

Status SegmentWriter::append(std::string_view frames) {
    if (fd_ < 0) {
        return fail(ErrorCode::Internal, "spool segment is closed: " + path_);
    }
    if (map_ != nullptr) {
        if (auto st = reserve(bytes_ + frames.size()); !st) {
            return st;
        }
        std::memcpy(map_ + bytes_, frames.data(), frames.size());
        bytes_ += frames.size();
        return {};
    }
    std::string_view rest = frames;
    while (!rest.empty()) {
        ssize_t n = ::pwrite(fd_, rest.data(), rest.size(),
                             static_cast<off_t>(bytes_ + (frames.size() - rest.size())));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            Error e = io_error("cannot write spool segment", path_);
            // Cut the partial write so later appends do not follow a half frame.
            (void)::ftruncate(fd_, static_cast<off_t>(bytes_));
            return fail(std::move(e));
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    bytes_ += frames.size();
    return {};
}

Status SegmentWriter::sync() {
    if (fd_ < 0) {
        return fail(ErrorCode::Internal, "spool segment is closed: " + path_);
    }
    // On Linux fdatasync also writes back the pages stored to through the mapping.
    if (::fdatasync(fd_) != 0) {
        return fail(io_error("cannot sync spool segment", path_));
    }
    return {};
}

Status SegmentWriter::close() {
    if (fd_ < 0) {
        return {};
    }
    const bool had_reserve = map_ != nullptr;
    release();
    int fd = std::exchange(fd_, -1);
    // The unused reserve goes; a crash before this leaves zeros, which readers skip.
    const bool cut = !had_reserve || ::ftruncate(fd, static_cast<off_t>(bytes_)) == 0;
    if (!cut) {
        Error e = io_error("cannot trim spool segment", path_);
        ::close(fd);
        return fail(std::move(e));
    }
    if (::close(fd) != 0) {
        return fail(io_error("cannot close spool segment", path_));
    }
    return {};
}

}  // namespace sb::telemetry::access
