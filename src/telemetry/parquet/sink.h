#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sb::telemetry::parquet {

// Where a Writer's bytes go, appended in order. Implementations report failures as values; after
// a failed write the Writer stops using the sink. Used by one thread at a time.
class Sink {
  public:
    Sink() = default;
    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;
    virtual ~Sink() = default;

    virtual Status write(std::string_view bytes) = 0;

  protected:
    Sink(Sink&&) = default;
    Sink& operator=(Sink&&) = default;
};

// Collects the file in memory (tests, or a caller that uploads the bytes itself).
class StringSink final : public Sink {
  public:
    StringSink() = default;

    Status write(std::string_view bytes) override;
    const std::string& data() const { return data_; }
    std::string take() { return std::move(data_); }

  private:
    std::string data_;
};

enum class FileMode : std::uint8_t {
    CreateNew,  // fail if the file exists (O_EXCL)
    Replace,    // truncate an existing file
};

// Appends to a file descriptor it owns. Durability is the caller's choice: nothing is synced
// unless it calls sync() (and sync_parent_directory() for a new or renamed file). The
// destructor closes a still-open file and ignores errors; call close() to see them.
class FileSink final : public Sink {
  public:
    static Result<FileSink> open(const std::string& path, FileMode mode = FileMode::CreateNew);

    FileSink(FileSink&& other) noexcept;
    FileSink& operator=(FileSink&& other) noexcept;
    ~FileSink() override;

    Status write(std::string_view bytes) override;
    // fsync(2): the file's data and metadata reach stable storage.
    Status sync();
    // close(2); later writes fail.
    Status close();
    const std::string& path() const { return path_; }

  private:
    FileSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

    int fd_ = -1;
    std::string path_;
};

// fsync(2) on the directory that holds `path`, so that a file created or renamed there is still
// listed after a crash.
Status sync_parent_directory(const std::string& path);

}  // namespace sb::telemetry::parquet
