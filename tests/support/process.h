#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sb::test {

// A child process started for a test (mock provider, gateway binary). Its stdout is read until
// a line containing `ready_marker`; the port after the last ':' of that line is kept. The
// process is killed (SIGKILL unless stopped earlier) when this object is destroyed.
class ChildProcess {
  public:
    // `env`: extra "NAME=value" entries added to (or replacing in) the child's environment.
    ChildProcess(std::vector<std::string> argv, const std::string& ready_marker,
                 std::chrono::milliseconds timeout = std::chrono::seconds(20),
                 std::vector<std::string> env = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    bool ok() const { return port_ != 0; }
    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string& output() const { return output_; }

    // Sends `sig` and waits up to `timeout` for exit; returns the exit status (or -1 on
    // timeout, after which the process is killed).
    int signal_and_wait(int sig, std::chrono::milliseconds timeout);

  private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::uint16_t port_ = 0;
    std::string output_;
};

// The mock provider binary on a free port.
class MockProvider : public ChildProcess {
  public:
    MockProvider() : MockProvider(std::vector<std::string>{}) {}
    explicit MockProvider(std::vector<std::string> extra_args);
    std::string base_url() const;
};

// Writes `text` to a fresh file under /tmp and returns its path.
std::string write_temp_file(const std::string& text, const std::string& suffix = ".yaml");

}  // namespace sb::test
