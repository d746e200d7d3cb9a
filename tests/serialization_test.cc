// Serialized databases: round trip, and every kind of damage rejected cleanly.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "scriptqa/scanner.h"
#include "test_util.h"

namespace scriptqa {
namespace {

std::shared_ptr<const Filter> Core() {
  static std::shared_ptr<const Filter> f = testing::FilterFromText(
      testing::ReadFileOrDie(std::string(SCRIPTQA_TESTDATA_DIR) + "/core_test.rules"));
  return f;
}

const char* kMessages[] = {"这是最佳选择，加微信13812345678聊", "最佳饮用时间内", "我的qq 123456789",
                           "卡号6222020200112345679", "這款絕對好用", "给个好评", "", "普通的一句话"};

std::string Describe(Scanner& s, std::string_view msg) {
  std::string out;
  auto findings = s.Scan(msg);  // keep the StatusOr alive while iterating
  for (const Finding& f : *findings)
    out += f.rule->id + "@" + std::to_string(f.bytes.begin) + "-" + std::to_string(f.bytes.end) +
           ":" + f.Suggestion() + ";";
  return out;
}

// The format's checksum over all but the trailing 8 bytes (lib/hash.h Checksum64, restated here);
// lets a test forge a blob whose checksum is right but whose content is wrong.
void FixChecksum(std::string* blob) {
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

TEST(Serialize, RoundTripGivesIdenticalFindings) {
  auto bytes = Core()->Serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto loaded = Filter::Deserialize(*bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->info().rules_hash, Core()->info().rules_hash);
  EXPECT_EQ((*loaded)->info().rule_count, Core()->info().rule_count);
  EXPECT_EQ((*loaded)->rules()[3].allow, Core()->rules()[3].allow);
  auto a = Scanner::Create(Core());
  auto b = Scanner::Create(*loaded);
  for (const char* m : kMessages) EXPECT_EQ(Describe(*a, m), Describe(*b, m)) << m;
  // Serializing the loaded filter gives the same bytes.
  EXPECT_EQ(*(*loaded)->Serialize(), *bytes);
}

TEST(Serialize, FileRoundTrip) {
  std::string path = ::testing::TempDir() + "/core.sqdb";
  ASSERT_TRUE(Core()->SaveFile(path).ok());
  auto loaded = Filter::LoadFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->info().rules_hash, Core()->info().rules_hash);
  std::remove(path.c_str());
  auto missing = Filter::LoadFile(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(path), absl::string_view::npos);
}

TEST(Serialize, BadMagicTruncationAndDamage) {
  std::string bytes = *Core()->Serialize();
  EXPECT_EQ(Filter::Deserialize("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Filter::Deserialize("not a database at all").status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string damaged = bytes;
  damaged[damaged.size() / 2] ^= 0x5A;
  auto d = Filter::Deserialize(damaged);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(d.status().message().find("checksum"), absl::string_view::npos);
  for (size_t cut : {size_t{12}, size_t{40}, bytes.size() / 3, bytes.size() - 1}) {
    auto t = Filter::Deserialize(std::string_view(bytes).substr(0, cut));
    EXPECT_FALSE(t.ok()) << cut;
  }
}

TEST(Serialize, FormatVersionMismatchIsFailedPrecondition) {
  std::string bytes = *Core()->Serialize();
  bytes[8] = 99;  // the format version follows the 8-byte magic
  FixChecksum(&bytes);
  auto r = Filter::Deserialize(bytes);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("recompile"), absl::string_view::npos) << r.status();
}

TEST(Serialize, EngineVersionMismatchIsFailedPrecondition) {
  std::string bytes = *Core()->Serialize();
  // magic(8) version(4) hash(8) then the engine version string (u64 length + bytes).
  bytes[8 + 4 + 8 + 8] ^= 0x01;
  FixChecksum(&bytes);
  auto r = Filter::Deserialize(bytes);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("engine"), absl::string_view::npos) << r.status();
}

TEST(Serialize, ForgedContentWithValidChecksumIsRejected) {
  std::string bytes = *Core()->Serialize();
  std::mt19937 rng(7);
  int rejected = 0;
  for (int i = 0; i < 300; ++i) {
    std::string forged = bytes;
    size_t pos = 60 + rng() % (forged.size() - 70);
    forged[pos] = static_cast<char>(rng());
    FixChecksum(&forged);
    auto r = Filter::Deserialize(forged);  // must never crash; may load if the byte was inert
    if (!r.ok()) {
      ++rejected;
    } else {
      auto s = Scanner::Create(*r);
      ASSERT_TRUE(s.ok());
      for (const char* m : kMessages) EXPECT_TRUE(s->Scan(m).ok());
    }
  }
  EXPECT_GT(rejected, 250);
}

TEST(Serialize, RandomBytesAreRejected) {
  std::mt19937 rng(11);
  for (int i = 0; i < 200; ++i) {
    std::string junk(rng() % 512, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (i % 2 == 0 && junk.size() >= 8) junk.replace(0, 8, "SCRIPTQA");
    EXPECT_FALSE(Filter::Deserialize(junk).ok());
  }
}

}  // namespace
}  // namespace scriptqa
