// One Filter shared by many threads, one Scanner per thread: exactly the single-thread results.
#include <gtest/gtest.h>

#include <thread>

#include "scriptqa/scanner.h"
#include "test_util.h"

namespace scriptqa {
namespace {

std::vector<std::string> Messages() {
  std::vector<std::string> msgs = testing::CorpusAgentMessages(3000);
  for (const char* m : {"这是最佳选择，加微信13812345678聊", "最佳饮用时间内", "我的qq 123456789",
                        "卡号6222020200112345679", "這款絕對好用", "给个好评", "加 V 信",
                        "第一时间处理，销量第一"})
    msgs.push_back(m);
  return msgs;
}

std::string Key(const std::vector<Finding>& fs) {
  std::string k;
  for (const Finding& f : fs)
    k += f.rule->id + "@" + std::to_string(f.bytes.begin) + "-" + std::to_string(f.bytes.end) +
         "/" + std::to_string(f.chars.begin) + ";";
  return k;
}

TEST(Concurrency, ThreadsSharingOneFilterMatchSingleThread) {
  std::shared_ptr<const Filter> filter = testing::DefaultFilter();
  std::vector<std::string> msgs = Messages();
  std::vector<std::string> expected;
  {
    auto s = Scanner::Create(filter);
    for (const auto& m : msgs) expected.push_back(Key(*s->Scan(m)));
  }
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto s = Scanner::Create(filter);
      for (int round = 0; round < 3; ++round) {
        got[t].clear();
        // Each thread walks the messages from a different starting point.
        for (size_t i = 0; i < msgs.size(); ++i) {
          size_t j = (i + t * 997) % msgs.size();
          if (got[t].size() < msgs.size()) got[t].resize(msgs.size());
          got[t][j] = Key(*s->Scan(msgs[j]));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(got[t], expected) << "thread " << t;
}

}  // namespace
}  // namespace scriptqa
