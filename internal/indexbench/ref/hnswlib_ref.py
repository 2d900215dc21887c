#!/usr/bin/env python3
"""Measure hnswlib on the data of `go run ./cmd/soundalike-bench index --save-data PREFIX`.

    go run ./cmd/soundalike-bench index --index flat --save-data /tmp/ib/c100k
    /usr/bin/python3 internal/indexbench/ref/hnswlib_ref.py /tmp/ib/c100k --k 20 \
        --ef 40,80,160 > hnswlib.json

hnswlib comes from Debian's python3-hnswlib (0.6.2). M=16,
efConstruction=200, cosine space, as in the issue's reference. Latency is
timed per knn_query call on one thread, like the Go benchmark, so it
includes the Python call overhead (also reported: batch_mean_us, the mean
of one batched call over all queries on one thread, without that
overhead), and cpu_mean_us, the thread CPU time per call. Recall is
against an exact numpy scan.
"""
import argparse
import json
import os
import sys
import time

import hnswlib
import numpy as np


def fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:, 1:].view(np.float32).copy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--ef", default="40,80,160")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--build-1", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1,
                    help="time the query pass this many times, report the fastest")
    a = ap.parse_args()
    base = fvecs(a.prefix + ".base.fvecs")
    queries = fvecs(a.prefix + ".query.fvecs")
    n, dim = base.shape
    k = a.k
    truth = np.argsort(-(queries @ base.T), axis=1)[:, :k]

    def build(threads):
        idx = hnswlib.Index(space="cosine", dim=dim)
        idx.init_index(max_elements=n, ef_construction=a.ef_construction, M=a.m, random_seed=1)
        idx.set_num_threads(threads)
        t0, c0 = time.perf_counter(), time.process_time()
        idx.add_items(base, np.arange(n))
        return idx, time.perf_counter() - t0, time.process_time() - c0

    build1 = cpu1 = 0.0
    if a.build_1:
        _, build1, cpu1 = build(1)
    idx, build_all, _ = build(os.cpu_count())
    idx.set_num_threads(1)
    rows = []
    for ef in [int(x) for x in a.ef.split(",")]:
        idx.set_ef(ef)
        for q in queries[:200]:  # warm up
            idx.knn_query(q, k=k)
        best = None
        for _ in range(max(a.repeat, 1)):
            lat = []
            hits = 0
            cpu = 0
            for i, q in enumerate(queries):
                c0 = time.thread_time_ns()
                t0 = time.perf_counter_ns()
                labels, _ = idx.knn_query(q, k=k)
                lat.append((time.perf_counter_ns() - t0) / 1e3)
                cpu += time.thread_time_ns() - c0
                hits += len(set(labels[0].tolist()) & set(truth[i].tolist()))
            if best is None or sum(lat) < sum(best[0]):
                best = (lat, hits, cpu)
        lat, hits, cpu = best
        batch = float("inf")
        for _ in range(max(a.repeat, 1)):
            t0 = time.perf_counter()
            idx.knn_query(queries, k=k, num_threads=1)
            batch = min(batch, (time.perf_counter() - t0) / len(queries) * 1e6)
        lat.sort()
        mean = sum(lat) / len(lat)
        rows.append({
            "index": "hnswlib", "ef_search": ef,
            "recall": hits / (k * len(queries)),
            "mean_us": mean, "p50_us": lat[len(lat) // 2 - 1],
            "p99_us": lat[int(0.99 * len(lat)) - 1],
            "qps_1": 1e6 / mean, "batch_mean_us": batch,
            "cpu_mean_us": cpu / 1e3 / len(queries),
            "build_s": build_all, "build_s_1": build1, "build_cpu_s_1": cpu1,
        })
    json.dump({"n": n, "dim": dim, "k": k, "results": rows}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
