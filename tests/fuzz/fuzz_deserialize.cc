// Fuzz target: loading serialized filters (Filter::Deserialize) from arbitrary bytes.
//   * never crashes, hangs or leaks; a rejection is InvalidArgument (not a database),
//     DataLoss (damaged) or FailedPrecondition (another format, engine or platform);
//   * a blob that loads gives a working filter: it scans, and serializes to a blob that loads.
// The checksum would stop almost every mutation at the door, so most modes repair it first
// (like a forger would), to reach the field parsers and the engine's own loader behind it.
// Input: byte 0 selects the mode:
//   0  the rest, as is;
//   1  the rest with its trailing checksum repaired;
//   2  edits to a real serialized filter (4 bytes each: offset u16 scaled to the blob, op,
//      value), checksum repaired;
//   3  the same edits, checksum left alone.
// Set SCRIPTQA_FUZZ_DUMP_SEED=FILE to write the real serialized filter (a seed for modes 0/1)
// when the target starts.
#include <algorithm>

#include "fuzz_util.h"

namespace scriptqa::fuzz {
namespace {

// The format's checksum over all but the trailing 8 bytes (lib/hash.h Checksum64, restated as
// tests/serialization_test.cc does).
void FixChecksum(std::string* blob) {
  if (blob->size() < 8) return;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(blob->data());
  size_t n = blob->size() - 8;
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  for (int i = 0; i < 8; ++i) (*blob)[blob->size() - 8 + i] = static_cast<char>(h >> (8 * i));
}

// A small filter with every kind of field (literals with allow / negate / near / boundary,
// a regex with a validator and a template, a declared category), so that the blob is small
// (a few tens of KB; the core test rules give about 1 MB) and each execution is fast.
constexpr char kRules[] =
    "%format scriptqa-rules 1\n%category shop  店铺\n%default category off_platform\n"
    "%default severity block\n"
    "rule t.wechat\n  literal 加微信 | 加vx\n  negate 不能\n  allow 加微信支付\n"
    "  allow-after 群\n  suggest 在平台内沟通\n  reason r\n  hit 加微信\n  miss 不能加微信\n"
    "rule t.mobile\n  category privacy\n  regex 1[3-9][0-9]{9}\n  boundary digit\n"
    "  validate cn_mobile\n  near 电话\n  window 12\n  suggest {masked}\n  reason r\n"
    "rule t.shop\n  category shop\n  severity advice\n  literal 亲亲\n  suggest 您\n  reason r\n";

const std::string& Reference() {
  static const std::string* blob = [] {
    auto f = MustLoad(Filter::FromDictionaries({DictionarySource::Text("ref.rules", kRules)}),
                      "reference rules");
    auto b = f->Serialize();
    if (!b.ok()) std::abort();
    return new std::string(*b);
  }();
  return *blob;
}

void Exercise(const std::shared_ptr<const Filter>& f) {
  absl::StatusOr<Scanner> s = Scanner::Create(f);
  FUZZ_CHECK(s.ok(), "Scanner::Create on a loaded filter: %s",
             std::string(s.status().message()).c_str());
  for (const char* m : {"这是最佳选择，加微信13812345678聊", "我的qq 123456789", "卡号6222020200112345679",
                        "身份证11010519491231002X", "不知道能不能", "", "\xff\xfe"}) {
    absl::StatusOr<std::vector<Finding>> fs = s->Scan(m);
    FUZZ_CHECK(fs.ok(), "Scan on a loaded filter: %s", std::string(fs.status().message()).c_str());
    std::string_view text(m);
    const std::vector<int64_t> chars = CharIndex(text);
    for (const Finding& fd : *fs) CheckFinding(fd, text, chars, "deserialized");
    absl::StatusOr<Rewritten> rw = s->Rewrite(m);
    FUZZ_CHECK(rw.ok(), "Rewrite on a loaded filter");
    CheckRewriteSize(*rw, text);
  }
  for (const Rule& r : f->rules())
    for (const std::string& t : r.suggestions) (void)RenderSuggestion(t, "13812345678");
  absl::StatusOr<std::string> again = f->Serialize();
  FUZZ_CHECK(again.ok(), "Serialize of a loaded filter");
  FUZZ_CHECK(Filter::Deserialize(*again).ok(), "a loaded filter's own blob does not load");
}

}  // namespace
}  // namespace scriptqa::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* path = std::getenv("SCRIPTQA_FUZZ_DUMP_SEED")) {
    std::string seed = std::string(1, '\0') + scriptqa::fuzz::Reference();
    if (FILE* out = std::fopen(path, "wb")) {
      std::fwrite(seed.data(), 1, seed.size(), out);
      std::fclose(out);
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scriptqa;
  using namespace scriptqa::fuzz;
  if (size > (1 << 20)) return 0;
  Input in(data, size);
  const uint8_t mode = in.Byte() & 3;
  std::string blob;
  if (mode <= 1) {
    blob = in.Rest();
    if (mode == 1) FixChecksum(&blob);
  } else {
    blob = Reference();
    while (in.remaining() >= 4 && !blob.empty()) {
      size_t off = static_cast<size_t>(in.U16()) * blob.size() / 65536;
      uint8_t op = in.Byte(), v = in.Byte();
      switch (op % 6) {
        case 0: blob[off] = static_cast<char>(v); break;
        case 1: blob[off] ^= static_cast<char>(1u << (v & 7)); break;
        case 2: blob.resize(off); break;
        case 3: blob.insert(off, 1, static_cast<char>(v)); break;
        case 4: blob.erase(off, 1 + v % 8); break;
        case 5:  // a little-endian length or count field nearby set to an extreme value
          for (size_t i = 0; i < 4 && off + i < blob.size(); ++i)
            blob[off + i] = static_cast<char>(v & 1 ? 0xFF : i == 0 ? v : 0);
          break;
      }
    }
    if (mode == 2) FixChecksum(&blob);
  }
  absl::StatusOr<std::shared_ptr<const Filter>> f = Filter::Deserialize(blob);
  if (!f.ok()) {
    const absl::StatusCode c = f.status().code();
    FUZZ_CHECK(c == absl::StatusCode::kInvalidArgument || c == absl::StatusCode::kDataLoss ||
                   c == absl::StatusCode::kFailedPrecondition,
               "rejected with code %d: %s", static_cast<int>(c),
               std::string(f.status().message()).c_str());
    return 0;
  }
  Exercise(*f);
  return 0;
}
