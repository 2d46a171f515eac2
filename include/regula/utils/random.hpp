#pragma once
/// @file
/// Random numbers. One seed (`set_random_seed`, Keras's `keras.utils.set_random_seed`) sets every
/// random stream in regula: weight initialisation, shuffling, dropout masks, augmentation.
///
/// Two kinds of generator:
/// - `Rng`: a sequential generator (xoshiro256**) for things done in order on one thread:
///   initialisers, shuffles, splits.
/// - `CounterRng`: a counter-based generator (a keyed SplitMix64-style hash): the value at
///   counter `i` is a pure function of (key, i), so a loop split across any number of threads
///   draws exactly the same numbers. Dropout masks use it, which keeps training bitwise
///   reproducible for a given seed whatever the thread count.

#include <cmath>
#include <cstdint>
#include <vector>

namespace regula {

/// Sets the global seed from which every generator created afterwards derives its state.
void set_random_seed(uint64_t seed);
/// The current global seed (0 until `set_random_seed` is called).
uint64_t random_seed();
/// A new key, distinct for every call, derived from the global seed (for components that need
/// their own independent stream, e.g. each Dropout layer).
uint64_t next_random_key();
/// How many keys `next_random_key` has handed out since the seed was set; with `random_seed()`
/// it is the whole state of the global stream (a TrainingState saves both).
uint64_t random_keys_drawn();
/// Restores the global stream: the seed and the number of keys already drawn.
void set_random_state(uint64_t seed, uint64_t keys_drawn);

/// Mixes a 64-bit value into a well-distributed 64-bit hash (SplitMix64's finaliser).
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

/// Mixes a 32-bit value (Wellons's "lowbias32" finaliser). 32-bit multiplies vectorize on AVX2,
/// so loops that hash one counter per element run 8 lanes at a time.
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}

/// Sequential pseudo-random generator (xoshiro256**), seeded through SplitMix64.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  /// A generator seeded from `next_random_key()`.
  static Rng from_global_seed();

  uint64_t next_u64();
  /// Uniform in [0, 1).
  double uniform();
  /// Uniform in [low, high).
  double uniform(double low, double high);
  /// Standard normal (Box-Muller).
  double normal();
  /// Uniform integer in [0, n).
  uint64_t uniform_int(uint64_t n);
  /// A uniformly random permutation of 0..n-1 (Fisher-Yates).
  std::vector<int64_t> permutation(int64_t n);

  /// The generator's four state words, to save and restore it exactly.
  std::vector<uint64_t> state() const { return {s_[0], s_[1], s_[2], s_[3]}; }
  /// Restores words from `state()`; throws ValueError unless there are four, not all zero.
  void set_state(const std::vector<uint64_t>& words);

 private:
  uint64_t s_[4];
};

/// Counter-based generator: stateless apart from its key.
class CounterRng {
 public:
  explicit CounterRng(uint64_t key = 0) : key_(key) {}
  /// 64 random bits at position `counter`.
  uint64_t bits(uint64_t counter) const { return mix64(key_ ^ mix64(counter + 0x9E3779B97F4A7C15ull)); }
  /// Uniform in [0, 1) with 24 bits of resolution at position `counter`.
  float uniform(uint64_t counter) const { return static_cast<float>(bits(counter) >> 40) * 0x1.0p-24f; }
  /// 32 random bits at position `counter` (< 2³²), two rounds of `mix32` keyed by both halves
  /// of the key: the vectorizable draw for per-element masks.
  uint32_t bits32(uint32_t counter) const {
    return mix32(mix32(counter ^ static_cast<uint32_t>(key_)) + static_cast<uint32_t>(key_ >> 32));
  }
  uint64_t key() const { return key_; }

 private:
  uint64_t key_;
};

/// Standard normal draws: Box–Muller (cosine branch) on two independent 32-bit streams, one
/// normal per counter, so element i's noise does not depend on how the loop is split.
class NormalDraws {
 public:
  explicit NormalDraws(const CounterRng& step) : a_(step), b_(mix64(step.key() ^ 0x6A09E667F3BCC909ull)) {}
  float operator()(uint32_t counter) const {
    // u1 in (0, 1) (24-bit midpoints, so log never sees 0); u2 in [0, 1). The tails are cut near
    // 5.9σ, which no test or training run can notice.
    const float u1 = (static_cast<float>(a_.bits32(counter) >> 8) + 0.5f) * 0x1.0p-24f;
    const float u2 = static_cast<float>(b_.bits32(counter) >> 8) * 0x1.0p-24f;
    return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.28318530718f * u2);
  }

 private:
  CounterRng a_, b_;
};


}  // namespace regula
