// The fixture of the command-line tests: runs the scriptqa executable as a user runs it.
#ifndef SCRIPTQA_TESTS_CLI_CLI_FIXTURE_H_
#define SCRIPTQA_TESTS_CLI_CLI_FIXTURE_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include "nlohmann/json.hpp"

namespace scriptqa_cli_test {

using nlohmann::json;

struct Result {
  int code = -1;
  std::string out, err;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

inline std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(s);
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

inline std::string Record(const std::string& conv, const std::string& role,
                   const std::string& text, const std::string& more = "") {
  return "{\"conversation_id\":" + json(conv).dump() + ",\"role\":" + json(role).dump() +
         ",\"text\":" + json(text).dump() + more + "}";
}

class Cli : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/scriptqa-cli-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // The default packs as a database: the build's (tests/CMakeLists.txt), or compiled here; every
    // run loads it in milliseconds.
    db_ = dir_ + "/default.db";
#ifdef SCRIPTQA_DEFAULT_DB
    std::error_code ec;
    if (std::filesystem::copy_file(SCRIPTQA_DEFAULT_DB, db_, ec)) return;
#endif
    Result r = Run({"compile", "-o", db_});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }

  // The executable under test: SCRIPTQA_CLI, or $SCRIPTQA_CLI_UNDER_TEST (to run these tests
  // against another build, e.g. to show that a regression test fails before its fix).
  static std::string Program() {
    const char* other = std::getenv("SCRIPTQA_CLI_UNDER_TEST");
    return other != nullptr && *other ? other : SCRIPTQA_CLI;
  }

  // Runs the tool with `args`, `input` on stdin. Output goes through files, so any size works.
  static Result Run(const std::vector<std::string>& args, const std::string& input = "",
                    const std::string& program = Program()) {
    static int n = 0;
    std::string base = dir_ + "/run" + std::to_string(++n);
    WriteFile(base + ".in", input);
    pid_t pid = fork();
    if (pid == 0) {
      int in = open((base + ".in").c_str(), O_RDONLY);
      int out = open((base + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = open((base + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(in, 0);
      dup2(out, 1);
      dup2(err, 2);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(program.c_str()));
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadFile(base + ".out");
    r.err = ReadFile(base + ".err");
    return r;
  }

  // `scriptqa audit` on `input` written to a file; outputs in <name>.out/.
  struct Audit {
    Result run;
    std::vector<json> records;
    json summary;
    std::string findings_text, summary_text, report;
    std::string out_dir;
  };
  static Audit RunAudit(const std::string& name, const std::string& input,
                        std::vector<std::string> extra = {}, bool use_db = true) {
    Audit a;
    std::string path = dir_ + "/" + name;
    WriteFile(path, input);
    a.out_dir = path + ".out";
    std::vector<std::string> args = {"audit", path, "--out", a.out_dir};
    if (use_db) {
      args.push_back("--db");
      args.push_back(db_);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    a.run = Run(args);
    a.findings_text = ReadFile(a.out_dir + "/findings.jsonl");
    a.summary_text = ReadFile(a.out_dir + "/summary.json");
    a.report = ReadFile(a.out_dir + "/report.html");
    for (const std::string& line : Lines(a.findings_text)) a.records.push_back(json::parse(line));
    if (!a.summary_text.empty()) a.summary = json::parse(a.summary_text);
    return a;
  }

  static inline std::string dir_, db_;
};

}  // namespace scriptqa_cli_test

#endif  // SCRIPTQA_TESTS_CLI_CLI_FIXTURE_H_
