#include "bench_util.h"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define SCRIPTQA_HAVE_CALLGRIND 1
#endif

#ifndef SCRIPTQA_BENCH_SOURCE_DIR
#define SCRIPTQA_BENCH_SOURCE_DIR "."
#endif

namespace scriptqa::bench {
namespace {

bool FileExists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The JSON string value of `key` in a one-line object; false when absent or malformed.
bool JsonString(std::string_view line, std::string_view key, std::string* out) {
  std::string pat = "\"" + std::string(key) + "\"";
  size_t p = line.find(pat);
  if (p == std::string_view::npos) return false;
  p += pat.size();
  while (p < line.size() && (line[p] == ' ' || line[p] == ':' || line[p] == '\t')) ++p;
  if (p >= line.size() || line[p] != '"') return false;
  ++p;
  out->clear();
  auto hex4 = [&](size_t at, uint32_t* v) {
    if (at + 4 > line.size()) return false;
    *v = 0;
    for (size_t i = at; i < at + 4; ++i) {
      char c = line[i];
      *v <<= 4;
      if (c >= '0' && c <= '9') *v |= c - '0';
      else if (c >= 'a' && c <= 'f') *v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') *v |= c - 'A' + 10;
      else return false;
    }
    return true;
  };
  while (p < line.size()) {
    char c = line[p++];
    if (c == '"') return true;
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (p >= line.size()) return false;
    char e = line[p++];
    switch (e) {
      case 'n': out->push_back('\n'); break;
      case 't': out->push_back('\t'); break;
      case 'r': out->push_back('\r'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'u': {
        uint32_t v;
        if (!hex4(p, &v)) return false;
        p += 4;
        if (v >= 0xD800 && v <= 0xDBFF && p + 6 <= line.size() && line[p] == '\\' &&
            line[p + 1] == 'u') {
          uint32_t lo;
          if (hex4(p + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
          }
        }
        AppendUtf8(v, out);
        break;
      }
      default: out->push_back(e); break;  // \" \\ \/
    }
  }
  return false;
}

size_t CharBoundaryAtOrBefore(std::string_view s, size_t pos) {
  if (pos >= s.size()) return s.size();
  while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

// Frequent Chinese characters, roughly in order of frequency in modern text.
constexpr std::string_view kFrequent =
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发"
    "后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开"
    "但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并"
    "物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先"
    "海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才"
    "结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书"
    "非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领"
    "共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转"
    "夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际"
    "约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧"
    "阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某"
    "案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察"
    "母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐"
    "帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血"
    "惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范"
    "竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读"
    "啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托"
    "央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架"
    "域沙掉括舰鱼杂误湖钟奥";

std::vector<std::string> FrequentChars() {
  std::vector<std::string> out;
  for (size_t i = 0; i < kFrequent.size();) {
    size_t n = 1;
    unsigned char c = static_cast<unsigned char>(kFrequent[i]);
    if (c >= 0xF0) n = 4;
    else if (c >= 0xE0) n = 3;
    else if (c >= 0xC0) n = 2;
    out.emplace_back(kFrequent.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace

std::string SourceDir() { return SCRIPTQA_BENCH_SOURCE_DIR; }
std::string DataDir() { return SourceDir() + "/bench/data"; }

size_t MessageSet::bytes() const {
  size_t n = 0;
  for (const auto& m : messages) n += m.size();
  return n;
}

absl::StatusOr<std::vector<std::string>> ReadAgentMessagesJsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::vector<std::string> out;
  std::string line, role, text;
  while (std::getline(in, line)) {
    if (!JsonString(line, "role", &role) || role != "agent") continue;
    if (!JsonString(line, "text", &text) || text.empty()) continue;
    out.push_back(text);
  }
  if (out.empty()) return absl::NotFoundError(absl::StrCat(path, ": no agent messages"));
  return out;
}

absl::StatusOr<MessageSet> LoadSyntheticMessages() {
  std::string path = DataDir() + "/synthetic_messages.txt";
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  MessageSet set;
  set.source = "synthetic:" + path;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    set.messages.push_back(line);
  }
  return set;
}

absl::StatusOr<MessageSet> LoadAgentMessages(bool synthetic_only) {
  if (!synthetic_only) {
    std::string path;
    if (const char* env = std::getenv("SCRIPTQA_CORPUS"); env && *env) {
      path = env;
    } else {
      path = SourceDir() + "/../shared/corpus/jddc_sample_dialogues.jsonl";
    }
    if (FileExists(path)) {
      absl::StatusOr<std::vector<std::string>> msgs = ReadAgentMessagesJsonl(path);
      if (msgs.ok()) {
        MessageSet set;
        set.source = "corpus:" + path;
        set.messages = *std::move(msgs);
        return set;
      }
    }
  }
  return LoadSyntheticMessages();
}

std::vector<std::string> MessagesOfLength(const std::vector<std::string>& base, size_t bytes,
                                          size_t count) {
  std::vector<std::string> out;
  if (base.empty()) return out;
  size_t i = 0;
  const std::string sep = "，";
  while (out.size() < count) {
    std::string m;
    while (m.size() < bytes) {
      if (!m.empty()) m += sep;
      m += base[i++ % base.size()];
    }
    m.resize(CharBoundaryAtOrBefore(m, bytes));
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::string> Chunks(const std::vector<std::string>& base, size_t chunk) {
  std::string all;
  for (const auto& m : base) {
    all += m;
    all += '\n';
  }
  std::vector<std::string> out;
  size_t p = 0;
  while (p < all.size()) {
    size_t e = CharBoundaryAtOrBefore(all, std::min(all.size(), p + chunk));
    if (e <= p) e = std::min(all.size(), p + chunk);
    out.push_back(all.substr(p, e - p));
    p = e;
  }
  return out;
}

std::vector<std::string> GenerateTerms(size_t n, uint64_t seed) {
  static const std::vector<std::string> chars = FrequentChars();
  std::mt19937_64 rng(seed);
  // Zipf-like over the frequency rank, flattened (+60) so that terms are words a list would hold
  // rather than the most common bigrams of every sentence.
  std::vector<double> w(chars.size());
  for (size_t r = 0; r < chars.size(); ++r) w[r] = 1.0 / (static_cast<double>(r) + 60.0);
  std::discrete_distribution<size_t> pick(w.begin(), w.end());
  std::uniform_real_distribution<double> u(0, 1);
  std::set<std::string> seen;
  std::vector<std::string> out;
  out.reserve(n);
  const char* kAsciiPrefix[] = {"vx", "wx", "qq", "top", "no", "v", "tb", "jd"};
  while (out.size() < n) {
    std::string t;
    double x = u(rng);
    if (x < 0.05) {
      // ASCII: a prefix plus digits, or 3–6 random lower-case letters.
      if (u(rng) < 0.5) {
        t = kAsciiPrefix[rng() % 8];
        int digits = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < digits; ++k) t.push_back(static_cast<char>('0' + rng() % 10));
      } else {
        int len = 3 + static_cast<int>(rng() % 4);
        for (int k = 0; k < len; ++k) t.push_back(static_cast<char>('a' + rng() % 26));
      }
    } else {
      int len = x < 0.55 ? 2 : x < 0.85 ? 3 : 4;
      for (int k = 0; k < len; ++k) t += chars[pick(rng)];
    }
    if (seen.insert(t).second) out.push_back(std::move(t));
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const Filter>> TermFilter(const std::vector<std::string>& terms,
                                                         const NormalizationOptions& norm) {
  std::string content;
  for (const auto& t : terms) {
    content += t;
    content += '\n';
  }
  DictionarySource src = DictionarySource::Text("generated.terms", std::move(content));
  src.kind = DictionarySource::Kind::kTermList;
  src.category = "ad_law";
  src.severity = Severity::kReview;
  FilterOptions options;
  options.normalization = norm;
  return Filter::FromDictionaries({src}, options);
}

NormalizationOptions MatchOnlyNormalization() {
  NormalizationOptions n;
  n.fold_width = false;
  n.fold_case = false;
  n.traditional_to_simplified = false;
  n.skip_noise = false;
  return n;
}

absl::StatusOr<std::shared_ptr<const Filter>> TrivialFilter(const NormalizationOptions& norm) {
  // Three CJK Extension A characters in a row: never in agent text.
  return TermFilter({"\xE3\x90\x80\xE3\x90\x81\xE3\x90\x82"}, norm);
}

std::vector<std::string> LiteralsOf(const Filter& filter) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const Rule& r : filter.rules())
    for (const std::string& l : r.literals)
      if (!l.empty() && seen.insert(l).second) out.push_back(l);
  return out;
}

std::vector<std::string> RegexesOf(const Filter& filter) {
  std::vector<std::string> out;
  for (const Rule& r : filter.rules())
    for (const std::string& x : r.regexes) out.push_back(x);
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
  size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return v[std::min(i, v.size() - 1)];
}

bool InstructionCounter::UnderValgrind() {
#ifdef SCRIPTQA_HAVE_CALLGRIND
  return RUNNING_ON_VALGRIND != 0;
#else
  return false;
#endif
}

uint64_t InstructionCounter::Count(const std::function<void()>& body) {
#ifdef SCRIPTQA_HAVE_CALLGRIND
  if (!UnderValgrind()) {
    body();
    return 0;
  }
  CALLGRIND_START_INSTRUMENTATION;
  CALLGRIND_ZERO_STATS;
  body();
  CALLGRIND_STOP_INSTRUMENTATION;
  CALLGRIND_DUMP_STATS_AT("bench");
  ++dumps_;
  std::ifstream in(prefix_ + "." + std::to_string(dumps_));
  uint64_t total = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("totals: ", 0) == 0) return std::stoull(line.substr(8));
    if (line.rfind("summary: ", 0) == 0) total = std::stoull(line.substr(9));
  }
  return total;
#else
  body();
  return 0;
#endif
}

double ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double Median(std::vector<double> v) { return Percentile(std::move(v), 50); }

}  // namespace scriptqa::bench
