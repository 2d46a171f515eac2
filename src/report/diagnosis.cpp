// The verdict on a history: the rules of diagnosis.hpp, in order.

#include "regula/report/diagnosis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace regula::report {
namespace {

std::string fixed(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string epochs_word(long n) { return std::to_string(n) + (n == 1 ? " epoch" : " epochs"); }

/// "loss is NaN at epochs 3, 4" for a series with non-finite values (epochs 1-based).
std::string non_finite_note(const std::string& name, const std::vector<double>& v, const std::vector<int>& epoch) {
  std::string list;
  int shown = 0, count = 0;
  bool any_nan = false, any_inf = false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isfinite(v[i])) continue;
    ++count;
    (std::isnan(v[i]) ? any_nan : any_inf) = true;
    if (shown < 6) {
      list += (list.empty() ? "" : ", ") + std::to_string(epoch[i] + 1);
      ++shown;
    }
  }
  if (count == 0) return "";
  if (count > shown) list += ", … (" + std::to_string(count) + " in all)";
  const std::string what = any_nan && any_inf ? "NaN or infinite" : any_nan ? "NaN" : "infinite";
  return name + " is " + what + " at " + (count == 1 ? "epoch " : "epochs ") + list + " (drawn as gaps)";
}

/// Indices of the epochs where `a` (and `b`, when given) are finite.
std::vector<size_t> finite_indices(const std::vector<double>& a, const std::vector<double>* b) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::isfinite(a[i]) && (!b || std::isfinite((*b)[i]))) idx.push_back(i);
  return idx;
}

bool fell(double from, double to, double tolerance) { return to < from - tolerance * std::fabs(from); }

/// ", train − val accuracy gap 0.0420 at epoch 7" when both accuracies are known at index i.
std::string accuracy_gap(const HistoryData& h, size_t i) {
  const auto* acc = h.find("accuracy");
  const auto* val = h.find("val_accuracy");
  if (!acc || !val || !std::isfinite((*acc)[i]) || !std::isfinite((*val)[i])) return "";
  return "; train − validation accuracy gap " + fixed((*acc)[i] - (*val)[i]) + " at epoch " + std::to_string(h.epoch[i] + 1);
}

}  // namespace

std::string verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::no_epochs: return "no epochs";
    case Verdict::diverged: return "diverged";
    case Verdict::too_short: return "too short to judge";
    case Verdict::no_validation: return "no validation";
    case Verdict::overfitting: return "overfitting";
    case Verdict::not_learning: return "not learning";
    case Verdict::underfitting: return "underfitting";
    case Verdict::good_fit: return "good fit";
  }
  return "unknown";
}

Diagnosis diagnose(const HistoryData& h, const DiagnosisOptions& o) {
  Diagnosis d;
  for (const std::string& name : h.names) {
    const std::string note = non_finite_note(name, *h.find(name), h.epoch);
    if (!note.empty()) d.notes.push_back(note);
  }
  const auto* loss = h.find("loss");
  if (h.size() == 0 || !loss) {
    d.verdict = Verdict::no_epochs;
    d.sentence = h.size() == 0 ? "no epochs were recorded" : "the history has no training loss";
    return d;
  }
  const auto& L = *loss;
  if (!std::isfinite(L.back())) {
    size_t first = L.size() - 1;
    while (first > 0 && !std::isfinite(L[first - 1])) --first;
    d.verdict = Verdict::diverged;
    d.from_epoch = h.epoch[first];
    d.sentence = "training diverged: the training loss is " + std::string(std::isnan(L.back()) ? "NaN" : "infinite") +
                 " from epoch " + std::to_string(d.from_epoch + 1);
    return d;
  }
  const auto* val_loss = h.find("val_loss");
  const std::vector<size_t> train_idx = finite_indices(L, nullptr);
  if (train_idx.size() < 2) {
    d.verdict = Verdict::too_short;
    d.sentence = "too few epochs to judge the curves (" + epochs_word(static_cast<long>(train_idx.size())) +
                 " with a finite training loss)";
    return d;
  }
  const std::vector<size_t> both = val_loss ? finite_indices(L, val_loss) : std::vector<size_t>{};
  const size_t first = train_idx.front(), last = train_idx.back();
  const std::string train_trend = "training loss " + fixed(L[first]) + " → " + fixed(L[last]);
  if (both.size() < 2) {
    d.verdict = Verdict::no_validation;
    d.sentence = "no validation curve to judge generalization (" + train_trend + ")";
    return d;
  }

  const auto& V = *val_loss;
  size_t best = both.front();
  for (const size_t i : both)
    if (V[i] < V[best]) best = i;
  d.best_val_loss_epoch = h.epoch[best];
  const size_t end = both.back();
  const long after_best = static_cast<long>(std::count_if(both.begin(), both.end(), [&](size_t i) { return i > best; }));
  if (after_best >= o.rising_epochs && V[end] > V[best] + o.rise_tolerance * std::fabs(V[best]) &&
      fell(L[best], L[end], 0.0)) {
    d.verdict = Verdict::overfitting;
    d.from_epoch = h.epoch[best] + 1;
    d.sentence = "overfitting from epoch " + std::to_string(d.from_epoch + 1) + ": validation loss has risen for " +
                 epochs_word(after_best) + " (" + fixed(V[best]) + " at epoch " + std::to_string(h.epoch[best] + 1) +
                 " → " + fixed(V[end]) + ") while training loss fell (" + fixed(L[best]) + " → " + fixed(L[end]) + ")" +
                 accuracy_gap(h, end);
    return d;
  }
  if (!fell(L[first], L[last], o.fall_tolerance)) {
    d.verdict = Verdict::not_learning;
    d.sentence = "not learning: the training loss has not fallen (" + fixed(L[first]) + " → " + fixed(L[last]) +
                 "); check the learning rate, the labels and the model";
    return d;
  }
  const size_t window = std::min(static_cast<size_t>(std::max(o.window, 1)), both.size() - 1);
  const size_t start = both[both.size() - 1 - window];
  const size_t previous = both[both.size() - 2];
  if (fell(L[start], L[end], o.fall_tolerance) && fell(V[start], V[end], o.fall_tolerance) &&
      fell(L[previous], L[end], o.fall_tolerance) && fell(V[previous], V[end], o.fall_tolerance) && best >= start) {
    d.verdict = Verdict::underfitting;
    d.sentence = "underfitting: both curves still falling over the last " + epochs_word(static_cast<long>(window)) +
                 " (training loss " + fixed(L[start]) + " → " + fixed(L[end]) + ", validation loss " + fixed(V[start]) +
                 " → " + fixed(V[end]) + "); train longer or give the model more capacity";
    return d;
  }
  d.verdict = Verdict::good_fit;
  d.sentence = "good fit: the validation loss levelled off (best " + fixed(V[best]) + " at epoch " +
               std::to_string(h.epoch[best] + 1) + ", last " + fixed(V[end]) + ")" + accuracy_gap(h, best);
  return d;
}

}  // namespace regula::report
