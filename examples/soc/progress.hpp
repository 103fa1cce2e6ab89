#pragma once
// Training progress for a person: a one-line bar on a terminal, plain log lines otherwise.

#include <cnnlstm/train/trainer.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

namespace soc {

class ProgressReport {
 public:
  explicit ProgressReport(bool quiet) : quiet_(quiet), terminal_(::isatty(STDERR_FILENO) == 1) {}

  void operator()(const cnnlstm::EpochProgress& p) {
    if (quiet_) return;
    if (p.evaluation && !p.evaluation->validation.empty()) last_validation_rmse_ = p.evaluation->validation[0].rmse;
    const double per_epoch = p.seconds / static_cast<double>(p.epoch);
    const double left = per_epoch * static_cast<double>(p.epochs - p.epoch);
    const std::string validation =
        last_validation_rmse_ >= 0 ? "  val RMSE " + fixed(last_validation_rmse_, 3) : "";
    if (terminal_) {
      const int width = 30;
      const auto done = static_cast<int>(width * p.epoch / std::max<cnnlstm::Index>(p.epochs, 1));
      std::fprintf(stderr, "\r[%s%s] epoch %ld/%ld  loss %.4f%s  %s left   ", std::string(static_cast<std::size_t>(done), '#').c_str(),
                   std::string(static_cast<std::size_t>(width - done), '.').c_str(), static_cast<long>(p.epoch),
                   static_cast<long>(p.epochs), p.loss, validation.c_str(), duration(left).c_str());
      if (p.epoch == p.epochs) std::fprintf(stderr, "\n");
    } else if (p.evaluation) {
      std::fprintf(stderr, "epoch %ld/%ld  loss %.4f%s  %.1f s\n", static_cast<long>(p.epoch), static_cast<long>(p.epochs),
                   p.loss, validation.c_str(), p.seconds);
    }
    std::fflush(stderr);
  }

  // Ends the bar's line when training stopped before the last epoch.
  void finish() const {
    if (!quiet_ && terminal_) std::fprintf(stderr, "\n");
  }

 private:
  static std::string fixed(double v, int digits) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
    return buffer;
  }
  static std::string duration(double seconds) {
    if (seconds < 60) return fixed(seconds, 1) + " s";
    return std::to_string(static_cast<long>(seconds) / 60) + " min " + std::to_string(static_cast<long>(seconds) % 60) + " s";
  }

  bool quiet_, terminal_;
  double last_validation_rmse_ = -1;
};

}  // namespace soc
