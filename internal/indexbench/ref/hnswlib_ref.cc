// hnswlib_ref.cc measures hnswlib (C++, Debian libhnswlib-dev 0.6.2) on the
// data of `go run ./cmd/soundalike-bench index --save-data PREFIX`, compiled for this
// CPU, with no Python in the timed path:
//
//   g++ -O3 -march=native -std=c++17 -pthread -o /tmp/hnswlib_ref \
//       internal/indexbench/ref/hnswlib_ref.cc
//   /tmp/hnswlib_ref PREFIX K EF1,EF2,... REPEAT BUILD1(0|1) [INDEXFILE]
//
// With INDEXFILE, the graph is loaded from that file if it exists (build_s
// is then the load time), and otherwise built and saved there, so that
// repeated 1M runs need not rebuild it.
// Inner-product space on the unit vectors (= cosine), M=16,
// efConstruction=200, seed 1. Prints one JSON object like bench --json.
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

static std::vector<float> fvecs(const std::string &path, int &dim) {
  std::ifstream f(path, std::ios::binary);
  std::vector<float> out;
  int d;
  while (f.read(reinterpret_cast<char *>(&d), 4)) {
    dim = d;
    size_t o = out.size();
    out.resize(o + d);
    f.read(reinterpret_cast<char *>(&out[o]), 4 * d);
  }
  return out;
}

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
static double cpu(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: hnswlib_ref PREFIX K EFS REPEAT BUILD1\n");
    return 2;
  }
  std::string prefix = argv[1];
  int k = atoi(argv[2]);
  std::vector<int> efs;
  {
    std::stringstream ss(argv[3]);
    std::string t;
    while (std::getline(ss, t, ',')) efs.push_back(atoi(t.c_str()));
  }
  int repeat = std::max(1, atoi(argv[4]));
  bool build1 = atoi(argv[5]) != 0;
  int dim = 0;
  std::vector<float> base = fvecs(prefix + ".base.fvecs", dim);
  std::vector<float> queries = fvecs(prefix + ".query.fvecs", dim);
  size_t n = base.size() / dim, nq = queries.size() / dim;

  // Exact ground truth.
  std::vector<std::vector<size_t>> truth(nq);
  for (size_t q = 0; q < nq; q++) {
    std::vector<std::pair<float, size_t>> s(n);
    for (size_t i = 0; i < n; i++) {
      float d = 0;
      for (int j = 0; j < dim; j++) d += queries[q * dim + j] * base[i * dim + j];
      s[i] = {-d, i};
    }
    std::partial_sort(s.begin(), s.begin() + k, s.end());
    for (int j = 0; j < k; j++) truth[q].push_back(s[j].second);
  }

  hnswlib::InnerProductSpace space(dim);
  auto build = [&](int threads, double &wall, double &cpus) {
    auto *idx = new hnswlib::HierarchicalNSW<float>(&space, n, 16, 200, 1);
    double t0 = now(), c0 = cpu(CLOCK_PROCESS_CPUTIME_ID);
    std::atomic<size_t> next{0};
    std::vector<std::thread> ws;
    for (int t = 0; t < threads; t++)
      ws.emplace_back([&] {
        for (size_t i; (i = next++) < n;) idx->addPoint(&base[i * dim], i);
      });
    for (auto &w : ws) w.join();
    wall = now() - t0;
    cpus = cpu(CLOCK_PROCESS_CPUTIME_ID) - c0;
    return idx;
  };
  double b1 = 0, c1 = 0, ball = 0, call = 0;
  std::string file = argc > 6 ? argv[6] : "";
  hnswlib::HierarchicalNSW<float> *idx = nullptr;
  if (!file.empty() && std::ifstream(file).good()) {
    double t0 = now();
    idx = new hnswlib::HierarchicalNSW<float>(&space, file, false, n);
    ball = now() - t0;
  } else {
    if (build1) delete build(1, b1, c1);
    int threads = std::thread::hardware_concurrency();
    idx = build(threads, ball, call);
    if (!file.empty()) idx->saveIndex(file);
  }

  printf("{\"n\":%zu,\"dim\":%d,\"k\":%d,\"results\":[", n, dim, k);
  for (size_t e = 0; e < efs.size(); e++) {
    idx->setEf(efs[e]);
    for (size_t q = 0; q < std::min<size_t>(nq, 200); q++) idx->searchKnn(&queries[q * dim], k);
    std::vector<double> best;
    double bestSum = 1e300, bestCPU = 0;
    size_t hits = 0;
    for (int r = 0; r < repeat; r++) {
      std::vector<double> lat(nq);
      double sum = 0, c0 = cpu(CLOCK_THREAD_CPUTIME_ID);
      size_t h = 0;
      for (size_t q = 0; q < nq; q++) {
        double t0 = now();
        auto res = idx->searchKnn(&queries[q * dim], k);
        lat[q] = (now() - t0) * 1e6;
        sum += lat[q];
        std::unordered_set<size_t> want(truth[q].begin(), truth[q].end());
        while (!res.empty()) {
          h += want.count(res.top().second);
          res.pop();
        }
      }
      double c = (cpu(CLOCK_THREAD_CPUTIME_ID) - c0) * 1e6 / nq;
      if (sum < bestSum) bestSum = sum, best = lat, bestCPU = c, hits = h;
    }
    std::sort(best.begin(), best.end());
    double mean = bestSum / nq;
    printf("%s{\"index\":\"hnswlib-c++\",\"ef_search\":%d,\"recall\":%.4f,\"mean_us\":%.1f,\"p50_us\":%.1f,"
           "\"p99_us\":%.1f,\"qps_1\":%.0f,\"cpu_mean_us\":%.1f,\"build_s\":%.2f,\"build_s_1\":%.2f,\"build_cpu_s_1\":%.2f}",
           e ? "," : "", efs[e], double(hits) / (k * nq), mean, best[nq / 2 - 1], best[size_t(0.99 * nq) - 1],
           1e6 / mean, bestCPU, ball, b1, c1);
  }
  printf("]}\n");
  return 0;
}
