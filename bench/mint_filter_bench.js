#!/usr/bin/env node
'use strict';
/*
 * mint-filter (npm, "基于Aho–Corasick算法…敏感词过滤库", a Chinese sensitive-word filter for
 * JavaScript) on the inputs of bench/python_bench.py's section 4, so that its figures stand next to
 * scriptqa's and pyahocorasick's on identical terms and messages: 1,000 and 5,000 distinct
 * 2-4-character CJK substrings of the corpus agent messages, messages of 90 B, 900 B and 4 KiB
 * made of consecutive agent messages. python_bench.py --peer-inputs DIR writes them (DIR/manifest.json,
 * terms_<n>.json, messages_<bytes>.json); nothing of the corpus is stored in the repository.
 *
 *   /usr/bin/node bench/mint_filter_bench.js DIR [--modules PREFIX] [--cell-seconds 0.4] > mint_filter.json
 *
 * PREFIX is where `npm install --prefix PREFIX mint-filter@4` put the package (default
 * build-bench/node beside this script's repository; bench/run.sh installs it there when missing).
 *
 * What is timed: `mint.filter(msg, { replace: false })`, the call that returns the matched words
 * ({ words, text }; replace: false leaves the text unmasked, the cheaper form; `verify()` returns a
 * boolean only and stops at the first hit, so it is not comparable with collecting every match).
 * The filter is built once per term list. Note that mint-filter's search reports at most one word
 * per character position (the deepest trie node reached; no output links), so it can report fewer
 * words than pyahocorasick's every-match iteration.
 *
 * Method, as in python_bench.py and scriptqa_compare: warm-up passes (at least 50 ms, for the JIT),
 * then rounds over the messages (an odd number, 3..21, as many as fit in --cell-seconds after the
 * first); every call is timed on its own with process.hrtime.bigint() (the cost of reading the
 * clock, measured first, is subtracted); each message keeps the median of its timings; p50 is over
 * the messages. Prints JSON.
 */
const fs = require('fs');
const path = require('path');

function usage(msg) {
  process.stderr.write(`mint_filter_bench.js: ${msg}\n` +
    'usage: node bench/mint_filter_bench.js DIR [--modules PREFIX] [--cell-seconds S]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = {
    dir: null,
    modules: path.join(__dirname, '..', 'build-bench', 'node'),
    cellSeconds: 0.4,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    if (v === '--modules') a.modules = argv[++i];
    else if (v === '--cell-seconds') a.cellSeconds = Number(argv[++i]);
    else if (v === '-h' || v === '--help') usage('help');
    else if (v.startsWith('--')) usage(`unknown option ${v}`);
    else if (a.dir === null) a.dir = v;
    else usage(`unexpected argument ${v}`);
  }
  if (a.dir === null) usage('the inputs directory (python_bench.py --peer-inputs DIR) is required');
  if (!(a.cellSeconds > 0)) usage('--cell-seconds must be a positive number');
  return a;
}

function loadMint(prefix) {
  const searchPaths = [path.join(prefix, 'node_modules'), prefix];
  let main;
  try {
    main = require.resolve('mint-filter', { paths: searchPaths });
  } catch (e) {
    process.stderr.write(`mint_filter_bench.js: mint-filter not found under ${prefix} ` +
      `(npm install --prefix ${prefix} mint-filter@4)\n`);
    process.exit(3);
  }
  const mod = require(main);
  let version = '?';
  try {
    const pkgDir = main.slice(0, main.lastIndexOf(`${path.sep}mint-filter${path.sep}`) + 13);
    version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  } catch (e) { /* version unknown */ }
  return { Mint: mod.Mint || mod.default || mod, version };
}

function median(v) {
  const s = Float64Array.from(v).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function clockOverheadNs() {
  const d = [];
  for (let i = 0; i < 20000; i++) {
    const a = process.hrtime.bigint();
    const b = process.hrtime.bigint();
    d.push(Number(b - a));
  }
  return median(d);
}

// p50 over the messages of each message's median time of fn(msg), in microseconds.
function perMessageP50Us(fn, msgs, cellSeconds, overheadNs) {
  // Warm-up (V8 compiles the hot paths): whole passes, at least 50 ms' worth.
  const warm = process.hrtime.bigint();
  do {
    for (const m of msgs) fn(m);
  } while (process.hrtime.bigint() - warm < 50000000n);
  const per = msgs.map(() => []);
  let rounds = 0;
  let limit = 21;
  const started = process.hrtime.bigint();
  let sink = 0;
  while (rounds < limit) {
    for (let j = 0; j < msgs.length; j++) {
      const t0 = process.hrtime.bigint();
      const r = fn(msgs[j]);
      const t1 = process.hrtime.bigint();
      sink += r.words.length;
      per[j].push(Number(t1 - t0));
    }
    rounds++;
    if (rounds === 1) {
      const one = Number(process.hrtime.bigint() - started) / 1e9;
      let fit = Math.floor(cellSeconds / Math.max(one, 1e-9));
      if (fit % 2 === 0) fit--;
      limit = Math.max(3, Math.min(21, fit));
    }
  }
  const medians = per.map(median);
  return { p50: Math.max(0, median(medians) - overheadNs) / 1e3, rounds, sink };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const manifest = JSON.parse(fs.readFileSync(path.join(args.dir, 'manifest.json'), 'utf8'));
  const { Mint, version } = loadMint(args.modules);
  const overhead = clockOverheadNs();
  const out = {
    node: process.versions.node,
    mint_filter_version: version,
    call: 'filter(msg, { replace: false })',
    clock_overhead_ns: overhead,
    cells: {},
  };
  const messages = {};
  for (const [len, file] of Object.entries(manifest.messages)) {
    messages[len] = JSON.parse(fs.readFileSync(path.join(args.dir, file), 'utf8'));
  }
  for (const [n, file] of Object.entries(manifest.terms)) {
    const terms = JSON.parse(fs.readFileSync(path.join(args.dir, file), 'utf8'));
    const t0 = process.hrtime.bigint();
    const mint = new Mint(terms);
    const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const filter = (m) => mint.filter(m, { replace: false });
    for (const [len, msgs] of Object.entries(messages)) {
      const r = perMessageP50Us(filter, msgs, args.cellSeconds, overhead);
      let words = 0;
      let withHit = 0;
      for (const m of msgs) {
        const w = filter(m).words.length;
        words += w;
        if (w) withHit++;
      }
      out.cells[`${n}/${len}`] = {
        messages: msgs.length,
        p50_us: Math.round(r.p50 * 1000) / 1000,
        rounds: r.rounds,
        words_per_message: Math.round((words / msgs.length) * 100) / 100,
        messages_with_hit: Math.round((withHit / msgs.length) * 1000) / 1000,
        build_ms: Math.round(buildMs * 10) / 10,
      };
      process.stderr.write(`mint-filter ${n} terms, ${len} B: p50 ${r.p50.toFixed(2)} us ` +
        `(${r.rounds} rounds, ${msgs.length} messages)\n`);
    }
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main();
