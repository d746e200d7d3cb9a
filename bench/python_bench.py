#!/usr/bin/env python3
"""Python benchmarks of the scriptqa package, measured in one run on the same machine:

  1. f.scan(msg) from Python on ~30-character messages (call + result objects included);
  2. f.scan_many on the corpus agent messages with 1 and 2 threads (GIL released);
  3. scriptqa vs pyahocorasick (Debian python3-ahocorasick) on the same literal terms, 1,000 and
     5,000 random 2-4-character CJK words: scriptqa normalises (width, case, Traditional,
     noise skipping) and confirms hits; pyahocorasick matches the raw terms, nothing more.

Reads the real corpus at run time (never copied into the repository):
  PYTHONPATH=build-py/bindings/python /usr/bin/python3 bench/python_bench.py \
      [--corpus ../shared/corpus/jddc_sample_dialogues.jsonl] [--repeat 7] [--json out.json]

Every figure is the median of --repeat timed runs (at least 15 pairs for the thread speed-up); a
run times a whole pass over its inputs. On a shared machine, run it when nothing else is busy: the
thread speed-up needs both cores.
"""

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time

import scriptqa

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "corpus", "jddc_sample_dialogues.jsonl"))


def load_agent_messages(path):
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("role") == "agent" and rec.get("text"):
                out.append(rec["text"])
    return out


def median_time(fn, repeat):
    """Median wall time of fn() over `repeat` runs (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        gc.enable()
    return statistics.median(times)


def per_call_us(f, msgs, repeat, inner):
    """Median time of one f.scan(msg) call in microseconds, cycling through `msgs`."""
    scan = f.scan
    batch = (msgs * (inner // len(msgs) + 1))[:inner]

    def run():
        for m in batch:
            scan(m)

    return median_time(run, repeat) / len(batch) * 1e6


def random_terms(n, seed):
    """n distinct random 2-4-character words from the common CJK range."""
    rng = random.Random(seed)
    terms = set()
    while len(terms) < n:
        k = rng.randint(2, 4)
        terms.add("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(k)))
    return sorted(terms)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    msgs = load_agent_messages(args.corpus)
    results = {"python": sys.version.split()[0], "agent_messages": len(msgs),
               "mean_chars": round(sum(map(len, msgs)) / len(msgs), 1), "cpus": os.cpu_count()}
    print(f"scriptqa {scriptqa.__version__}, Python {results['python']}, {results['cpus']} CPUs")
    print(f"corpus: {len(msgs)} agent messages, mean {results['mean_chars']} characters")

    t0 = time.perf_counter()
    f = scriptqa.Filter.default()
    results["default_load_ms"] = round((time.perf_counter() - t0) * 1e3, 2)
    print(f"Filter.default(): {results['default_load_ms']} ms ({f.info.rule_count} rules, pre-compiled database)")

    # 1. Single calls on ~30-character messages.
    around30 = [m for m in msgs if 28 <= len(m) <= 32]
    clean30 = [m for m in around30 if not f.scan(m)]
    flagged30 = [m for m in around30 if f.scan(m)]
    print("\n1. f.scan(msg), one call from Python (median per call):")
    for name, sample in (("corpus agent messages of 28-32 characters", around30),
                         ("  of which clean", clean30), ("  of which flagged", flagged30)):
        if not sample:
            continue
        us = per_call_us(f, sample, args.repeat, 20000)
        results[f"scan_us[{name.strip()}]"] = round(us, 3)
        print(f"   {name:45s} n={len(sample):4d}  {us:6.2f} us")

    # 2. scan_many with 1 and 2 threads, interleaved (1, 2, 1, 2, ...) so that a change in the
    # machine's background load hits both alike; the speed-up is the median of the pairs' ratios.
    print("\n2. f.scan_many(agent messages):")
    f.scan_many(msgs, threads=2)
    pairs = []
    for _ in range(max(args.repeat, 15)):
        pair = []
        for threads in (1, 2):
            gc.collect()
            t0 = time.perf_counter()
            f.scan_many(msgs, threads=threads)
            pair.append(time.perf_counter() - t0)
        pairs.append(pair)
    t1 = statistics.median(p[0] for p in pairs)
    t2 = statistics.median(p[1] for p in pairs)
    speedup = statistics.median(p[0] / p[1] for p in pairs)
    results.update(scan_many_1t_ms=round(t1 * 1e3, 2), scan_many_2t_ms=round(t2 * 1e3, 2),
                   scan_many_speedup=round(speedup, 2))
    print(f"   1 thread : {t1 * 1e3:7.2f} ms  ({t1 / len(msgs) * 1e6:.2f} us/message)")
    print(f"   2 threads: {t2 * 1e3:7.2f} ms  ({t2 / len(msgs) * 1e6:.2f} us/message)  speed-up {speedup:.2f}x")

    # 3. Against pyahocorasick on the same literal terms.
    import ahocorasick

    print("\n3. scriptqa vs pyahocorasick, same random CJK terms, corpus agent messages, 1 thread:")
    for n in (1000, 5000):
        terms = random_terms(n, seed=n)
        t0 = time.perf_counter()
        g = scriptqa.Filter.from_terms(terms, category="bench")
        compile_ms = (time.perf_counter() - t0) * 1e3
        a = ahocorasick.Automaton()
        for i, t in enumerate(terms):
            a.add_word(t, i)
        a.make_automaton()
        scan = g.scan
        aiter = a.iter

        def run_scriptqa():
            for m in msgs:
                scan(m)

        def run_aho():
            for m in msgs:
                for _ in aiter(m):
                    pass

        ts = median_time(run_scriptqa, args.repeat)
        tm = median_time(lambda: g.scan_many(msgs, threads=1), args.repeat)
        ta = median_time(run_aho, args.repeat)
        hits_s = sum(len(x) for x in g.scan_many(msgs))
        hits_a = sum(1 for m in msgs for _ in aiter(m))
        per = lambda t: t / len(msgs) * 1e6  # noqa: E731
        results[f"terms{n}"] = {
            "compile_ms": round(compile_ms, 1), "scriptqa_scan_us": round(per(ts), 3),
            "scriptqa_scan_many_us": round(per(tm), 3), "pyahocorasick_us": round(per(ta), 3),
            "ratio_scan": round(ta / ts, 2), "ratio_scan_many": round(ta / tm, 2),
            "findings_scriptqa": hits_s, "matches_pyahocorasick": hits_a,
        }
        print(f"   {n} terms (compile {compile_ms:.0f} ms): pyahocorasick {per(ta):.2f} us/message; "
              f"scriptqa f.scan {per(ts):.2f} us ({ta / ts:.1f}x faster), "
              f"scan_many(threads=1) {per(tm):.2f} us ({ta / tm:.1f}x)")
        print(f"      matches: scriptqa {hits_s} findings, pyahocorasick {hits_a} raw matches")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
