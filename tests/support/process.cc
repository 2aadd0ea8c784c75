#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace sb::test {

using Clock = std::chrono::steady_clock;

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::string& ready_marker,
                           std::chrono::milliseconds timeout, std::vector<std::string> env) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        for (std::string& e : env) {
            ::putenv(e.data());
        }
        std::vector<char*> args;
        for (auto& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        std::_Exit(127);
    }
    ::close(fds[1]);
    stdout_fd_ = fds[0];
    auto deadline = Clock::now() + timeout;
    char buf[4096];
    while (Clock::now() < deadline) {
        pollfd p{stdout_fd_, POLLIN, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) {
            continue;
        }
        ssize_t n = ::read(stdout_fd_, buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        output_.append(buf, static_cast<std::size_t>(n));
        auto pos = output_.find(ready_marker);
        if (pos == std::string::npos) {
            continue;
        }
        auto eol = output_.find('\n', pos);
        if (eol == std::string::npos) {
            continue;
        }
        std::string line = output_.substr(pos, eol - pos);
        auto colon = line.rfind(':');
        port_ = static_cast<std::uint16_t>(std::atoi(line.c_str() + colon + 1));
        break;
    }
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    if (stdout_fd_ >= 0) {
        ::close(stdout_fd_);
    }
}

int ChildProcess::signal_and_wait(int sig, std::chrono::milliseconds timeout) {
    if (pid_ <= 0) {
        return -1;
    }
    ::kill(pid_, sig);
    auto deadline = Clock::now() + timeout;
    int status = 0;
    while (Clock::now() < deadline) {
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        // Child exit is what we wait for; poll the pipe for EOF instead of sleeping blindly.
        pollfd p{stdout_fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) > 0) {
            char buf[512];
            ssize_t n = ::read(stdout_fd_, buf, sizeof(buf));
            if (n > 0) {
                output_.append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    return -1;
}

MockProvider::MockProvider(std::vector<std::string> extra_args)
    : ChildProcess(
          [&] {
              std::vector<std::string> argv{SB_MOCK_BIN, "--listen", "127.0.0.1:0"};
              argv.insert(argv.end(), extra_args.begin(), extra_args.end());
              return argv;
          }(),
          "listening on") {}

std::string MockProvider::base_url() const {
    return "http://127.0.0.1:" + std::to_string(port()) + "/v1";
}

std::string write_temp_file(const std::string& text, const std::string& suffix) {
    std::string tmpl = "/tmp/sbtestXXXXXX" + suffix;
    std::vector<char> path(tmpl.begin(), tmpl.end());
    path.push_back('\0');
    int fd = ::mkstemps(path.data(), static_cast<int>(suffix.size()));
    if (fd < 0) {
        throw std::runtime_error("mkstemps failed");
    }
    ::close(fd);
    std::ofstream(path.data()) << text;
    return std::string(path.data());
}

}  // namespace sb::test
