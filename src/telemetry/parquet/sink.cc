#include "telemetry/parquet/sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace sb::telemetry::parquet {

namespace {

tl::unexpected<Error> io_error(std::string_view what, const std::string& path, int error) {
    return fail(ErrorCode::Internal,
                std::string(what) + " " + path + ": " + std::generic_category().message(error));
}

}  // namespace

Status StringSink::write(std::string_view bytes) {
    data_.append(bytes);
    return {};
}

Result<FileSink> FileSink::open(const std::string& path, FileMode mode) {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
    flags |= mode == FileMode::CreateNew ? O_EXCL : O_TRUNC;
    int fd = -1;
    do {
        fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return io_error("open", path, errno);
    }
    return FileSink(fd, path);
}

FileSink::FileSink(FileSink&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

FileSink& FileSink::operator=(FileSink&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
    }
    return *this;
}

FileSink::~FileSink() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Status FileSink::write(std::string_view bytes) {
    if (fd_ < 0) {
        return fail(ErrorCode::Internal, "write " + path_ + ": file is closed");
    }
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_error("write", path_, errno);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

Status FileSink::sync() {
    if (fd_ < 0) {
        return fail(ErrorCode::Internal, "fsync " + path_ + ": file is closed");
    }
    if (::fsync(fd_) != 0) {
        return io_error("fsync", path_, errno);
    }
    return {};
}

Status FileSink::close() {
    if (fd_ < 0) {
        return {};
    }
    // No retry on EINTR: on Linux the descriptor is released either way.
    const int rc = ::close(std::exchange(fd_, -1));
    if (rc != 0 && errno != EINTR) {
        return io_error("close", path_, errno);
    }
    return {};
}

Status sync_parent_directory(const std::string& path) {
    const auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    if (dir.empty()) {
        dir = "/";
    }
    int fd = -1;
    do {
        fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return io_error("open", dir, errno);
    }
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0) {
        return io_error("fsync", dir, error);
    }
    return {};
}

}  // namespace sb::telemetry::parquet
