#!/usr/bin/env python3
"""Python benchmarks of the scriptqa package, measured in one run on the same machine:

  1. f.scan(msg) from Python on ~30-character messages (call + result objects included);
  2. f.scan_many on the corpus agent messages (20 times over) with 1 and 2 threads (GIL released),
     wall time and CPU time;
  3. scriptqa vs pyahocorasick (Debian python3-ahocorasick) on the same literal terms, 1,000 and
     5,000 random 2-4-character CJK words: scriptqa normalises (width, case, Traditional,
     noise skipping) and confirms hits; pyahocorasick matches the raw terms, nothing more. Random
     words almost never occur in the messages: this is the cost of a scan without hits;
  4. the same two on terms that DO match, per message at the lengths of scriptqa_compare's sweep
     (90 B, 900 B, 4 KiB): 1,000 and 5,000 distinct 2-4-character CJK substrings sampled from the
     corpus agent messages themselves (fixed seed), so that most messages hold several of them.
     Per-message p50 of f.scan(msg) (default options) vs list(automaton.iter(msg)) (every match,
     collected), and the ratio. With --peer-inputs DIR the terms and messages are also written
     there (JSON), so that bench/mint_filter_bench.js times the npm package mint-filter on
     identical inputs; --peer-table then prints the three side by side (bench/run.sh does all
     this).

Reads the real corpus at run time (never copied into the repository):
  PYTHONPATH=build-py/bindings/python /usr/bin/python3 bench/python_bench.py \
      [--corpus ../shared/corpus/jddc_sample_dialogues.jsonl] [--repeat 7] [--json out.json] \
      [--only-peers] [--peer-inputs DIR] [--cell-seconds 0.4]
  /usr/bin/python3 bench/python_bench.py --peer-table out.json [mint_filter.json]

Sections 1-3: every figure is the median of --repeat timed runs (at least 15 pairs for the thread
speed-up); a run times a whole pass over its inputs. Section 4 times every call on its own
(time.perf_counter_ns, the cost of reading the clock measured first and subtracted), scans each
message in several rounds (an odd number, at most 21, as many as fit in --cell-seconds) and keeps
its median; p50 is over the messages, as in scriptqa_compare. On a shared machine, run it when
nothing else is busy: the thread speed-up needs both cores.
"""

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time

try:
    import scriptqa
except ImportError:  # --peer-table only formats results; every measurement needs the package
    scriptqa = None

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


def _cpu_ticks():
    """(all, idle) clock ticks of the machine so far, from /proc/stat; None elsewhere."""
    try:
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return None
    return sum(v), v[3] + v[4]


def _others_busy(before, after, own_cpu_seconds):
    """How many cores other processes kept busy between two _cpu_ticks() readings."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    ticks = after[0] - before[0]
    busy = ticks - (after[1] - before[1]) - own_cpu_seconds * os.sysconf("SC_CLK_TCK")
    cores = os.cpu_count() or 1
    return max(0.0, busy / ticks * cores)


def reference_speedup(pairs=5):
    """What the machine grants a trivially parallel job right now: SHA-256 of a buffer, eight
    times per thread (hashlib releases the GIL), in two threads against the same work in one.
    About 2 on two free cores; on a busy shared machine it shows how much of the second core the
    scheduler gave, the ceiling for any 2-thread speed-up measured at the same time."""
    import hashlib
    import threading

    buf = os.urandom(8 << 20)

    def hash_times(k):
        for _ in range(k):
            hashlib.sha256(buf).digest()

    ratios = []
    for _ in range(pairs):
        t0 = time.perf_counter()
        hash_times(16)
        one = time.perf_counter() - t0
        ths = [threading.Thread(target=hash_times, args=(8,)) for _ in range(2)]
        t0 = time.perf_counter()
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        ratios.append(one / (time.perf_counter() - t0))
    return statistics.median(ratios)


def random_terms(n, seed):
    """n distinct random 2-4-character words from the common CJK range."""
    rng = random.Random(seed)
    terms = set()
    while len(terms) < n:
        k = rng.randint(2, 4)
        terms.add("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(k)))
    return sorted(terms)


# ---- 4. matching terms, per message at the lengths of scriptqa_compare's sweep ----

PEER_TERM_COUNTS = (1000, 5000)
PEER_LENGTHS = (90, 900, 4096)


def messages_of_length(base, nbytes, count):
    """`count` messages of at most `nbytes` UTF-8 bytes, as MessagesOfLength in bench/bench_util.cc
    (which scriptqa_compare's length sweep uses): consecutive agent messages in corpus order
    joined by "，" until the length is reached, then cut on a character boundary; the next message
    goes on where the previous one stopped. A 90-byte message is one or two agent messages (mean
    77 B), a 4 KiB one about fifty, running across conversation boundaries as in the C++ sweep."""
    raw = [m.encode("utf-8") for m in base]
    sep = "，".encode("utf-8")
    out, i = [], 0
    while len(out) < count:
        m = b""
        while len(m) < nbytes:
            if m:
                m += sep
            m += raw[i % len(raw)]
            i += 1
        cut = min(nbytes, len(m))
        while 0 < cut < len(m) and (m[cut] & 0xC0) == 0x80:
            cut -= 1
        out.append(m[:cut].decode("utf-8"))
    return out


def messages_for_length(base, nbytes):
    """The message set of one length, with scriptqa_compare's count: 512 KiB / length, 64..2000."""
    return messages_of_length(base, nbytes, min(2000, max(64, (512 << 10) // nbytes)))


def _is_cjk(ch):
    return "\u4e00" <= ch <= "\u9fff"


def corpus_terms(msgs, n, seed):
    """n distinct 2-4-character CJK substrings of the agent messages (fixed seed): a random
    message, a random length, a random start; kept when every character is a CJK ideograph.
    Frequent phrases (您好, 请您, 订单) are the likeliest draws, so most messages hold several
    terms, the case a deny list of real words meets on real traffic."""
    rng = random.Random(seed)
    terms = set()
    for _ in range(n * 1000):
        if len(terms) >= n:
            break
        m = msgs[rng.randrange(len(msgs))]
        k = rng.randint(2, 4)
        if len(m) < k:
            continue
        start = rng.randrange(len(m) - k + 1)
        t = m[start:start + k]
        if all(_is_cjk(c) for c in t):
            terms.add(t)
    if len(terms) < n:
        raise SystemExit(f"python_bench.py: only {len(terms)} distinct CJK substrings in the corpus, {n} wanted")
    return sorted(terms)


def clock_overhead_ns():
    """Median cost of two back-to-back time.perf_counter_ns() calls, subtracted from each timing."""
    pc = time.perf_counter_ns
    d = []
    for _ in range(20000):
        a = pc()
        b = pc()
        d.append(b - a)
    return statistics.median(d)


def per_message_p50_us(fn, msgs, cell_seconds, overhead_ns):
    """p50 over the messages of each message's median time of fn(msg), in microseconds.

    Warm-up passes (at least 50 ms), then rounds over the messages (an odd number, 3..21, as many
    as fit in cell_seconds after the first); every call is timed on its own, the clock overhead
    subtracted."""
    pc = time.perf_counter_ns
    warm = pc()
    while True:  # warm-up: whole passes, at least 50 ms' worth
        for m in msgs:
            fn(m)
        if pc() - warm >= 50_000_000:
            break
    per = [[] for _ in msgs]
    rounds, limit, started = 0, 21, pc()
    gc.collect()
    gc.disable()
    try:
        while rounds < limit:
            for j, m in enumerate(msgs):
                t0 = pc()
                fn(m)
                t1 = pc()
                per[j].append(t1 - t0)
            rounds += 1
            if rounds == 1:
                one = (pc() - started) / 1e9
                fit = int(cell_seconds / max(one, 1e-9))
                limit = max(3, min(21, fit if fit % 2 else fit - 1))
    finally:
        gc.enable()
    medians = [statistics.median(p) for p in per]
    return max(0.0, statistics.median(medians) - overhead_ns) / 1e3, rounds


def matching_terms_section(msgs, cell_seconds, inputs_dir, results):
    import ahocorasick

    print("\n4. scriptqa vs pyahocorasick on terms that match: 2-4-character CJK substrings of the "
          "corpus agent messages, per message p50 (us), 1 thread:")
    overhead = clock_overhead_ns()
    by_len = {L: messages_for_length(msgs, L) for L in PEER_LENGTHS}
    manifest = {"corpus_agent_messages": len(msgs), "terms": {}, "messages": {}}
    if inputs_dir:
        os.makedirs(inputs_dir, exist_ok=True)
        for L, ms in by_len.items():
            name = f"messages_{L}.json"
            with open(os.path.join(inputs_dir, name), "w", encoding="utf-8") as fh:
                json.dump(ms, fh, ensure_ascii=False)
            manifest["messages"][str(L)] = name
    out = {"clock_overhead_ns": overhead, "lengths": list(PEER_LENGTHS), "cells": {}}
    print(f"   clock overhead {overhead:.0f} ns per timing (subtracted); messages per length: "
          + ", ".join(f"{L} B: {len(ms)}" for L, ms in by_len.items()))
    print()
    print("| terms | length | scriptqa f.scan | scriptqa overlap=\"all\" | pyahocorasick iter | "
          "pyahocorasick / scriptqa | findings / matches per message | messages with a hit |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|")
    for n in PEER_TERM_COUNTS:
        terms = corpus_terms(msgs, n, seed=20260125 + n)
        if inputs_dir:
            name = f"terms_{n}.json"
            with open(os.path.join(inputs_dir, name), "w", encoding="utf-8") as fh:
                json.dump(terms, fh, ensure_ascii=False)
            manifest["terms"][str(n)] = name
        t0 = time.perf_counter()
        g = scriptqa.Filter.from_terms(terms, category="bench")
        compile_ms = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        a = ahocorasick.Automaton()
        for i, t in enumerate(terms):
            a.add_word(t, i)
        a.make_automaton()
        aho_ms = (time.perf_counter() - t0) * 1e3
        scan = g.scan
        aiter = a.iter

        def scan_all(m, _scan=scan):
            return _scan(m, overlap="all")

        def aho_all(m, _iter=aiter):
            return list(_iter(m))

        for L, ms in by_len.items():
            s_us, s_rounds = per_message_p50_us(scan, ms, cell_seconds, overhead)
            sa_us, _ = per_message_p50_us(scan_all, ms, cell_seconds, overhead)
            a_us, a_rounds = per_message_p50_us(aho_all, ms, cell_seconds, overhead)
            found_s = [len(scan(m)) for m in ms]
            found_sa = [len(scan_all(m)) for m in ms]
            found_a = [len(aho_all(m)) for m in ms]
            cell = {
                "messages": len(ms), "mean_bytes": round(sum(len(m.encode()) for m in ms) / len(ms), 1),
                "scriptqa_scan_p50_us": round(s_us, 3), "scriptqa_scan_all_p50_us": round(sa_us, 3),
                "pyahocorasick_iter_p50_us": round(a_us, 3),
                "ratio_pyahocorasick_vs_scriptqa": round(a_us / s_us, 2) if s_us else None,
                "rounds": {"scriptqa": s_rounds, "pyahocorasick": a_rounds},
                "scriptqa_findings_per_message": round(statistics.mean(found_s), 2),
                "scriptqa_all_findings_per_message": round(statistics.mean(found_sa), 2),
                "pyahocorasick_matches_per_message": round(statistics.mean(found_a), 2),
                "messages_with_hit_scriptqa": round(sum(1 for x in found_s if x) / len(ms), 3),
                "messages_with_hit_pyahocorasick": round(sum(1 for x in found_a if x) / len(ms), 3),
                "scriptqa_compile_ms": round(compile_ms, 1), "pyahocorasick_build_ms": round(aho_ms, 1),
            }
            out["cells"][f"{n}/{L}"] = cell
            print(f"| {n} | {L} B | {s_us:.2f} | {sa_us:.2f} | {a_us:.2f} | {a_us / s_us:.2f}x | "
                  f"{cell['scriptqa_findings_per_message']} / {cell['pyahocorasick_matches_per_message']} | "
                  f"{cell['messages_with_hit_scriptqa']:.0%} / {cell['messages_with_hit_pyahocorasick']:.0%} |",
                  flush=True)
        print(f"   ({n} terms: scriptqa compile {compile_ms:.0f} ms, pyahocorasick build {aho_ms:.0f} ms)")
    print("   findings: scriptqa's default overlap keeps the leftmost-longest hit per category; "
          'overlap="all" and pyahocorasick report every (overlapping) occurrence. A ratio > 1 means '
          "scriptqa is faster.")
    if inputs_dir:
        with open(os.path.join(inputs_dir, "manifest.json"), "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, ensure_ascii=False, indent=2)
    results["matching_terms"] = out


def _fmt_us(x):
    return "—" if x is None else (f"{x:.2f}" if x < 100 else f"{x:.0f}")


def _fmt_ratio(peer, base):
    if peer is None or not base:
        return "—"
    r = peer / base
    return f"{r:.1f}×" if r >= 1 else f"{r:.2f}× (scriptqa slower)"


def peer_table(python_json, mint_json):
    """The Markdown table of section 4 with mint-filter's figures beside it."""
    with open(python_json, encoding="utf-8") as fh:
        py = json.load(fh).get("matching_terms")
    if not py:
        raise SystemExit(f"python_bench.py: {python_json} has no matching-terms results (section 4)")
    mint, mint_note = {}, None
    if mint_json:
        try:
            with open(mint_json, encoding="utf-8") as fh:
                m = json.load(fh)
            mint = m.get("cells", {})
            mint_note = (f"mint-filter {m.get('mint_filter_version', '?')} on Node {m.get('node', '?')}: "
                         f"`{m.get('call', 'filter')}`")
        except (OSError, ValueError) as e:
            mint_note = f"mint-filter: no figures ({e})"
    print("| terms | length | messages | scriptqa `f.scan` p50 µs | pyahocorasick `iter` p50 µs | "
          "mint-filter p50 µs | scriptqa vs pyahocorasick | scriptqa vs mint-filter | "
          "hits per message (scriptqa / pyahocorasick / mint-filter) |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for key, c in py["cells"].items():
        n, L = key.split("/")
        mc = mint.get(key, {})
        s, a, mf = c["scriptqa_scan_p50_us"], c["pyahocorasick_iter_p50_us"], mc.get("p50_us")
        mw = mc.get("words_per_message")
        print(f"| {int(n):,} | {int(L)} B | {c['messages']} | {_fmt_us(s)} | {_fmt_us(a)} | {_fmt_us(mf)} | "
              f"{_fmt_ratio(a, s)} | {_fmt_ratio(mf, s)} | {c['scriptqa_findings_per_message']} / "
              f"{c['pyahocorasick_matches_per_message']} / {'—' if mw is None else mw} |")
    print()
    print("Ratio = peer p50 / scriptqa p50 (> 1: scriptqa faster; target ≥ 10× per message). Terms: "
          "distinct 2–4-character CJK substrings sampled from the corpus agent messages (fixed seed); "
          "messages: consecutive agent messages joined to 90 B / 900 B / 4 KiB, as in the "
          "scriptqa_compare sweep. scriptqa through its Python binding (`Filter.from_terms`, default "
          "scan options: normalisation, confirmation, leftmost-longest findings); pyahocorasick "
          "`list(A.iter(msg))` (every raw match); each call timed alone, per-message median over "
          "rounds, p50 over messages.")
    if mint_note:
        print(mint_note)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--batch-repeat", type=int, default=20,
                    help="scan_many batch: the agent messages this many times over (default 20)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--only-peers", action="store_true",
                    help="run section 4 (matching terms vs pyahocorasick) only")
    ap.add_argument("--peer-inputs", metavar="DIR",
                    help="section 4: also write its terms and messages here (JSON) for bench/mint_filter_bench.js")
    ap.add_argument("--cell-seconds", type=float, default=0.4,
                    help="section 4: time budget of one engine at one length and term count (default 0.4)")
    ap.add_argument("--peer-table", nargs="+", metavar=("PYTHON_JSON", "MINT_JSON"),
                    help="print section 4 of a --json file, with mint_filter_bench.js's figures, as one "
                         "Markdown table, and exit")
    args = ap.parse_args()

    if args.peer_table:
        if len(args.peer_table) > 2:
            ap.error("--peer-table takes PYTHON_JSON and at most one MINT_JSON")
        peer_table(args.peer_table[0], args.peer_table[1] if len(args.peer_table) > 1 else None)
        return
    if scriptqa is None:
        raise SystemExit("python_bench.py: cannot import scriptqa (PYTHONPATH=BUILD/bindings/python)")

    msgs = load_agent_messages(args.corpus)
    results = {"python": sys.version.split()[0], "agent_messages": len(msgs),
               "mean_chars": round(sum(map(len, msgs)) / len(msgs), 1), "cpus": os.cpu_count()}
    print(f"scriptqa {scriptqa.__version__}, Python {results['python']}, {results['cpus']} CPUs")
    print(f"corpus: {len(msgs)} agent messages, mean {results['mean_chars']} characters")

    if args.only_peers:
        matching_terms_section(msgs, args.cell_seconds, args.peer_inputs, results)
        write_json(args.json, results)
        return

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

    # 2. scan_many with 1 and 2 threads on the agent messages repeated --batch-repeat times (the
    # corpus alone is a few milliseconds per pass, short enough for one scheduling delay of the
    # helper thread to dominate). Runs are interleaved (1, 2, 1, 2, ...) so that a change in the
    # machine's background load hits both alike; the speed-up is the median of the pairs' ratios.
    # CPU time is reported too: on a shared machine the wall-time ratio shows what the scheduler
    # granted, the CPU figures what the work split allows (1-thread CPU time over the CPU time of
    # the busiest thread of the 2-thread run).
    batch = msgs * args.batch_repeat
    print(f"\n2. f.scan_many(agent messages x {args.batch_repeat} = {len(batch)} messages):")
    f.scan_many(batch, threads=2)
    load_before = os.getloadavg()
    busy_before = _cpu_ticks()
    own_before = time.process_time()
    pairs = []
    for _ in range(max(args.repeat, 15)):
        pair = []
        for threads in (1, 2):
            gc.collect()
            c0, p0, t0 = time.thread_time(), time.process_time(), time.perf_counter()
            f.scan_many(batch, threads=threads)
            t, p, c = time.perf_counter() - t0, time.process_time() - p0, time.thread_time() - c0
            pair.append((t, p, max(c, p - c)))  # wall, process CPU, busiest thread's CPU
        pairs.append(pair)
    others = _others_busy(busy_before, _cpu_ticks(), time.process_time() - own_before)
    t1 = statistics.median(p[0][0] for p in pairs)
    t2 = statistics.median(p[1][0] for p in pairs)
    speedup = statistics.median(p[0][0] / p[1][0] for p in pairs)
    cpu1 = statistics.median(p[0][1] for p in pairs)
    cpu2 = statistics.median(p[1][1] for p in pairs)
    busiest2 = statistics.median(p[1][2] for p in pairs)
    results.update(scan_many_messages=len(batch), scan_many_1t_ms=round(t1 * 1e3, 2),
                   scan_many_2t_ms=round(t2 * 1e3, 2), scan_many_speedup=round(speedup, 2),
                   scan_many_1t_cpu_ms=round(cpu1 * 1e3, 2), scan_many_2t_cpu_ms=round(cpu2 * 1e3, 2),
                   scan_many_2t_busiest_thread_cpu_ms=round(busiest2 * 1e3, 2),
                   scan_many_cpu_speedup=round(cpu1 / busiest2, 2),
                   load_average=[round(x, 2) for x in load_before],
                   others_busy_cores=None if others is None else round(others, 2))
    print(f"   1 thread : {t1 * 1e3:7.1f} ms  ({t1 / len(batch) * 1e6:.2f} us/message), CPU {cpu1 * 1e3:.1f} ms")
    print(f"   2 threads: {t2 * 1e3:7.1f} ms  ({t2 / len(batch) * 1e6:.2f} us/message), CPU {cpu2 * 1e3:.1f} ms, "
          f"busiest thread {busiest2 * 1e3:.1f} ms")
    print(f"   speed-up: {speedup:.2f}x wall time (median of {len(pairs)} pairs), "
          f"{cpu1 / busiest2:.2f}x by CPU time")
    print(f"   load average before: {load_before[0]:.2f}; other processes kept "
          + ("?" if others is None else f"{others:.2f}") + " of the 2 cores busy during the runs"
          + ("  (not an idle machine: the wall-time figure is what the scheduler granted)"
             if others is not None and others > 0.2 else ""))
    c1 = median_time(lambda: f.scan_many(msgs, threads=1), max(args.repeat, 15))
    c2 = median_time(lambda: f.scan_many(msgs, threads=2), max(args.repeat, 15))
    results.update(scan_many_corpus_1t_ms=round(c1 * 1e3, 2), scan_many_corpus_2t_ms=round(c2 * 1e3, 2))
    ref = reference_speedup()
    results["reference_2t_speedup"] = round(ref, 2)
    print(f"   reference: SHA-256 in 2 threads (GIL released, nothing shared) {ref:.2f}x faster than in 1, "
          "right after: what the machine granted")
    print(f"   the corpus once ({len(msgs)} messages): 1 thread {c1 * 1e3:.2f} ms, 2 threads {c2 * 1e3:.2f} ms "
          f"({c1 / c2:.2f}x)")

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

    # 4. Against pyahocorasick on terms that occur in the messages, by message length.
    matching_terms_section(msgs, args.cell_seconds, args.peer_inputs, results)
    write_json(args.json, results)


def write_json(path, results):
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(results, fh, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
