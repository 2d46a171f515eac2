#include "regula/utils/random.hpp"

#include <atomic>
#include <cmath>
#include <numbers>
#include <string>

#include "regula/error.hpp"

namespace regula {
namespace {

std::atomic<uint64_t> global_seed{0};
std::atomic<uint64_t> global_key_counter{0};

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

void set_random_seed(uint64_t seed) {
  global_seed = seed;
  global_key_counter = 0;
}

uint64_t random_seed() { return global_seed; }

uint64_t next_random_key() {
  const uint64_t n = global_key_counter.fetch_add(1);
  return mix64(mix64(global_seed.load()) + n * 0xD1B54A32D192ED03ull);
}

uint64_t random_keys_drawn() { return global_key_counter.load(); }

void set_random_state(uint64_t seed, uint64_t keys_drawn) {
  global_seed = seed;
  global_key_counter = keys_drawn;
}

void Rng::set_state(const std::vector<uint64_t>& words) {
  if (words.size() != 4 || (words[0] | words[1] | words[2] | words[3]) == 0)
    throw ValueError("Rng::set_state: a xoshiro256** state is four words, not all zero; got " + std::to_string(words.size()) + " words");
  for (size_t i = 0; i < 4; ++i) s_[i] = words[i];
}

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : s_) {
    x += 0x9E3779B97F4A7C15ull;
    s = mix64(x);
  }
}

Rng Rng::from_global_seed() { return Rng(next_random_key()); }

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Rng::uniform(double low, double high) { return low + (high - low) * uniform(); }

double Rng::normal() {
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

uint64_t Rng::uniform_int(uint64_t n) {
  if (n <= 1) return 0;
  // Rejection sampling removes the modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t r = next_u64();
  while (r >= limit) r = next_u64();
  return r % n;
}

std::vector<int64_t> Rng::permutation(int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(uniform_int(static_cast<uint64_t>(i + 1)));
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

}  // namespace regula
