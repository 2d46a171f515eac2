#include "regula/callbacks/progbar_logger.hpp"

#include <unistd.h>

#include <cmath>

namespace regula::callbacks {
namespace {

constexpr int kBarWidth = 30;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string format_eta(double seconds) {
  char buf[64];
  const auto s = static_cast<long>(seconds);
  if (s > 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s % 3600) / 60, s % 60);
  else if (s > 60)
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

}  // namespace

ProgbarLogger::ProgbarLogger(int verbose, int epochs, int64_t steps, std::FILE* out)
    : verbose_(verbose), epochs_(epochs), steps_(steps), out_(out), live_(verbose == 1 && isatty(fileno(out)) == 1) {}

std::string ProgbarLogger::format_value(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, std::fabs(value) > 1e-3 ? "%.4f" : "%.4e", value);
  return buf;
}

std::string ProgbarLogger::format_time_per_step(double seconds) {
  char buf[64];
  if (seconds >= 1.0 || seconds == 0.0)
    std::snprintf(buf, sizeof buf, "%.0fs/step", seconds);
  else if (seconds >= 1e-3)
    std::snprintf(buf, sizeof buf, "%.0fms/step", seconds * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0fus/step", seconds * 1e6);
  return buf;
}

std::string ProgbarLogger::bar(int64_t current) const {
  const int digits = static_cast<int>(std::floor(std::log10(static_cast<double>(std::max<int64_t>(steps_, 1))))) + 1;
  char head[64];
  std::snprintf(head, sizeof head, "%*lld/%lld [", digits, static_cast<long long>(current), static_cast<long long>(steps_));
  const auto filled = static_cast<int>(kBarWidth * static_cast<double>(current) / static_cast<double>(std::max<int64_t>(steps_, 1)));
  std::string s = head;
  if (filled > 0) s += std::string(static_cast<size_t>(filled - 1), '=') + (current < steps_ ? '>' : '=');
  s += std::string(static_cast<size_t>(kBarWidth - filled), '.') + "]";
  return s;
}

std::string ProgbarLogger::values(const Logs& logs) const {
  std::string s;
  for (const auto& [name, value] : logs) s += " - " + name + ": " + format_value(value);
  return s;
}

void ProgbarLogger::on_epoch_begin(int epoch, Logs&) {
  epoch_start_ = last_draw_ = std::chrono::steady_clock::now();
  if (verbose_ == 0) return;
  std::fprintf(out_, "Epoch %d/%d\n", epoch + 1, epochs_);
  std::fflush(out_);
}

void ProgbarLogger::on_train_batch_end(int64_t batch, Logs& logs) {
  if (!live_) return;
  const int64_t current = batch + 1;
  if (current < steps_ && seconds_since(last_draw_) < 0.05) return;  // Keras redraws at most every 50 ms
  last_draw_ = std::chrono::steady_clock::now();
  const double per_step = seconds_since(epoch_start_) / static_cast<double>(current);
  std::fprintf(out_, "\r%s - ETA: %s%s\033[K", bar(current).c_str(),
               format_eta(per_step * static_cast<double>(steps_ - current)).c_str(), values(logs).c_str());
  std::fflush(out_);
}

void ProgbarLogger::on_epoch_end(int, Logs& logs) {
  if (verbose_ == 0) return;
  const double elapsed = seconds_since(epoch_start_);
  const std::string per_step = format_time_per_step(elapsed / static_cast<double>(std::max<int64_t>(steps_, 1)));
  char total[32];
  std::snprintf(total, sizeof total, "%.0fs", elapsed);
  if (verbose_ == 2) {
    const int digits = static_cast<int>(std::floor(std::log10(static_cast<double>(std::max<int64_t>(steps_, 1))))) + 1;
    std::fprintf(out_, "%*lld/%lld - %s%s - %s/epoch - %s\n", digits, static_cast<long long>(steps_),
                 static_cast<long long>(steps_), total, values(logs).c_str(), total, per_step.c_str());
  } else {
    std::fprintf(out_, "%s%s - %s %s%s%s\n", live_ ? "\r" : "", bar(steps_).c_str(), total, per_step.c_str(),
                 values(logs).c_str(), live_ ? "\033[K" : "");
  }
  std::fflush(out_);
}

}  // namespace regula::callbacks
