// A small probe for investigating fuzz findings (not a test):
//   fuzz_probe [--all] [--core] [--collapse] [--explain] [--rewrite] (--hex HEX | TEXT)
// prints the findings (and optionally Explain / Rewrite) of one message.
#include <cstdio>
#include <iostream>

#include "fuzz_util.h"

int main(int argc, char** argv) {
  using namespace scriptqa;
  bool all = false, core = false, collapse = false, explain = false, rewrite = false;
  std::string text;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--all") all = true;
    else if (a == "--core") core = true;
    else if (a == "--collapse") collapse = true;
    else if (a == "--explain") explain = true;
    else if (a == "--rewrite") rewrite = true;
    else if (a == "--hex" && i + 1 < argc) {
      std::string h = argv[++i];
      for (size_t k = 0; k + 1 < h.size(); k += 2) text += static_cast<char>(std::stoi(h.substr(k, 2), nullptr, 16));
    } else text = a;
  }
  FilterOptions fo;
  fo.normalization.collapse_repeats = collapse;
  auto f = core || collapse ? fuzz::CoreFilter(fo) : fuzz::DefaultFilter();
  auto s = Scanner::Create(f);
  ScanOptions o;
  if (all) o.overlap = Overlap::kAll;
  auto fs = s->Scan(text, o);
  if (!fs.ok()) { std::cout << fs.status() << "\n"; return 1; }
  std::cout << "normalized: " << f->Normalize(text) << "\n";
  for (const Finding& x : *fs)
    std::cout << fuzz::Describe(x) << " \"" << x.text << "\"\n";
  if (explain) std::cout << s->Explain(text, o)->ToString() << "\n";
  if (rewrite) {
    auto r = s->Rewrite(text);
    std::cout << "rewrite: " << r->text << " clean=" << r->clean << "\n";
  }
  return 0;
}
