// The machine's fused multiply-add peak in float, for the roofline line of compare.sh: every
// thread runs chains of independent vector FMAs (enough chains to cover the FMA latency on
// every port) held in registers, so nothing but the FMA units limits the rate.
//
//   peak_flops [--threads N] [--json]
// prints GFLOP/s over all threads (one FMA = 2 FLOP per lane).

#include <xsimd/xsimd.hpp>

#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using Lanes = xsimd::batch<float>;
constexpr int chains = 12;               // independent accumulators: latency 4 x 2-3 ports
constexpr long iterations = 20'000'000;  // per thread and measurement

// Runs `iterations` rounds of `chains` independent FMAs; returns a value that depends on all of
// them so that the compiler keeps every one.
float fma_loop(float seed) {
  std::array<Lanes, chains> acc;
  for (int c = 0; c < chains; ++c) acc[c] = Lanes(seed + static_cast<float>(c));
  const Lanes a(0.999999f), b(1e-7f);
  for (long i = 0; i < iterations; ++i)
    for (int c = 0; c < chains; ++c) acc[c] = xsimd::fma(acc[c], a, b);
  Lanes sum(0.0f);
  for (const Lanes& x : acc) sum += x;
  return xsimd::hadd(sum);
}

// GFLOP/s of all threads running fma_loop at once; the best of a few runs.
double measure(int threads) {
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    std::vector<float> sink(static_cast<std::size_t>(threads));
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    sink[static_cast<std::size_t>(omp_get_thread_num())] = fma_loop(static_cast<float>(run));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double flop = 2.0 * Lanes::size * chains * static_cast<double>(iterations) * threads;
    if (sink[0] != 0.5f) best = std::max(best, flop / s * 1e-9);  // sink keeps the loop alive
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) threads = std::max(1, std::stoi(argv[++i]));
    else if (arg == "--json") json = true;
    else {
      std::fprintf(stderr, "usage: peak_flops [--threads N] [--json]\n");
      return 1;
    }
  }
  const double gflops = measure(threads);
  if (json)
    std::printf("{\"impl\": \"peak\", \"threads\": %d, \"lanes\": %zu, \"gflops\": %.1f}\n", threads,
                Lanes::size, gflops);
  else
    std::printf("FMA peak, %d thread(s), %zu float lanes (%s): %.1f GFLOP/s\n", threads, Lanes::size,
                xsimd::default_arch::name(), gflops);
}
