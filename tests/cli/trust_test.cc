// Regression tests for outputs users must be able to trust: no input record lost, no personal data
// in a shared output, no audit that scans nothing and exits 0, no read or write error ignored,
// no file outside the one asked for touched. Each test reproduces a report that failed before.
#include <sys/resource.h>
#include <zlib.h>

#include <regex>

#include "cli_fixture.h"

namespace {

using namespace scriptqa_cli_test;  // NOLINT
using nlohmann::json;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------- data loss

TEST_F(Cli, CsvQuoteInsideAFieldIsText) {
  // A quote inside an unquoted field is text (RFC 4180 quotes only a whole field; Python's csv
  // reads it so). Before, it opened a quoted field that swallowed the rest of the file.
  Audit a = RunAudit("stray.csv",
                     "conversation_id,role,text\n"
                     "x1,agent,他说\"好的\n"
                     "x1,agent,加我vx吧\n"
                     "x1,agent,这款是最佳选择\n",
                     {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), 3u) << a.findings_text;
  for (const json& r : a.records) EXPECT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(a.records[0]["line"], 2);
  EXPECT_EQ(a.records[2]["line"], 4);
  EXPECT_FALSE(a.records[1]["findings"].empty());
  EXPECT_FALSE(a.records[2]["findings"].empty());
}

TEST_F(Cli, CsvUnterminatedQuoteIsReportedWhereItOpenedAndTheRestIsRead) {
  // 1,000 records; record 11 opens a quoted field that never closes. Every other record comes
  // out, in order, with its own line; the broken one is an error at the line where it opened.
  std::string csv = "conversation_id,role,text\n";
  for (int i = 1; i <= 1000; ++i) {
    std::string text = i == 11 ? "\"他说好的" : "消息" + std::to_string(i);
    csv += "c" + std::to_string(i / 10) + ",agent," + text + "\n";
  }
  Audit a = RunAudit("runaway.csv", csv, {"--fail-on", "none"});
  EXPECT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), 1000u) << a.run.err;
  for (int i = 1; i <= 1000; ++i) {
    const json& r = a.records[i - 1];
    EXPECT_EQ(r["line"], i + 1) << r.dump();
    if (i == 11) {
      ASSERT_TRUE(r.contains("error")) << r.dump();
      EXPECT_TRUE(Contains(r["error"].get<std::string>(), "quote")) << r.dump();
    } else {
      EXPECT_FALSE(r.contains("error")) << r.dump();
    }
  }
  EXPECT_EQ(a.summary["records"]["errors"], 1) << a.summary_text;
  // --strict: the malformed record makes the exit code 2, and still every record is written.
  Audit s = RunAudit("runaway.csv", csv, {"--fail-on", "none", "--strict"});
  EXPECT_EQ(s.run.code, 2);
  EXPECT_EQ(s.records.size(), 1000u);
}

TEST_F(Cli, CsvQuotedFieldsMayStillSpanLines) {
  Audit a = RunAudit("multiline.csv",
                     "conversation_id,role,text\n"
                     "c1,agent,\"第一行\n第二行，加我vx\"\n"
                     "c1,agent,\"他说\"\"好的\"\"\"\n"
                     "c1,agent,普通消息\n",
                     {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), 3u) << a.findings_text;
  EXPECT_EQ(a.records[0]["line"], 2);
  EXPECT_FALSE(a.records[0]["findings"].empty());
  EXPECT_EQ(a.records[1]["line"], 4);
  EXPECT_EQ(a.records[2]["line"], 5);
  for (const json& r : a.records) EXPECT_FALSE(r.contains("error")) << r.dump();
}

std::string Gzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// What zcat writes of a damaged gzip file: everything inflate produced before the error.
std::string Gunzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  std::string out;
  char buf[1 << 16];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc != Z_OK) break;
  }
  inflateEnd(&zs);
  return out;
}

TEST_F(Cli, DamagedGzipKeepsEveryRecordDecodedBeforeTheError) {
  std::string plain;
  for (int i = 0; i < 20000; ++i)
    plain += Record("c" + std::to_string(i / 10), i % 2 ? "agent" : "customer",
                    "第" + std::to_string(i) + "条消息，稍等为您查询") + "\n";
  std::string gz = Gzip(plain);
  gz.pop_back();  // `gzip -c | head -c -1`
  std::string decodable = Gunzip(gz);
  size_t whole = std::count(decodable.begin(), decodable.end(), '\n');
  ASSERT_GT(whole, 19000u);
  ASSERT_LT(whole, 20001u);
  Audit a = RunAudit("damaged.jsonl.gz", gz, {"--fail-on", "none"});
  EXPECT_EQ(a.run.code, 2) << "a damaged input is an input error";
  EXPECT_TRUE(Contains(a.run.err, "gzip")) << a.run.err;
  // Every whole record zcat decodes is written (the partial last line too, as an error).
  size_t good = 0;
  for (const json& r : a.records) good += !r.contains("error");
  EXPECT_EQ(good, whole) << a.run.err;
  EXPECT_GE(a.records.size(), whole);
  for (size_t i = 0; i < whole; ++i) ASSERT_EQ(a.records[i]["line"], i + 1);
}

// ---------------------------------------------------------------- personal data

// Every full number that must not appear in shared outputs.
const char* const kSecrets[] = {"13812345678", "110101199003071234", "6222020200112233445"};

void ExpectNoSecret(const std::string& where, const std::string& text) {
  for (const char* s : kSecrets) EXPECT_FALSE(Contains(text, s)) << where << " shows " << s;
}

TEST_F(Cli, AFindingOverlappingAPhoneDoesNotShowIt) {
  // off_platform.contact_id covers the phone: its `matched` printed the number in clear.
  std::string input = Record("c", "agent", "好的，加微信 13812345678 聊") + "\n";
  Audit a = RunAudit("overlap.jsonl", input, {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), 1u);
  ASSERT_FALSE(a.records[0]["findings"].empty());
  ExpectNoSecret("findings.jsonl", a.findings_text);
  ExpectNoSecret("summary.json", a.summary_text);
  ExpectNoSecret("report.html", a.report);
  EXPECT_TRUE(Contains(a.findings_text, "138****5678")) << a.findings_text;
  for (const char* cmd : {"check", "explain", "rewrite"}) {
    Result r = Run({cmd, "--json", "--fail-on", "none", "--db", db_, "加微信 13812345678"});
    ASSERT_EQ(r.code, 0) << cmd << r.err;
    ExpectNoSecret(cmd, r.out);
    Result plain = Run({cmd, "--fail-on", "none", "--db", db_, "加微信 13812345678"});
    ExpectNoSecret(std::string(cmd) + " (text)", plain.out);
  }
  // --no-mask is the explicit opt-out.
  Result raw = Run({"check", "--json", "--no-mask", "--fail-on", "none", "--db", db_,
                    "加微信 13812345678"});
  EXPECT_TRUE(Contains(raw.out, "13812345678"));
}

TEST_F(Cli, ACategoryFilterDoesNotTurnMaskingOff) {
  std::string input = Record("c", "agent", "这款是全网最低价，有问题打13812345678") + "\n";
  for (const char* category : {"ad_law", "deflection,ad_law"}) {
    Audit a = RunAudit("category.jsonl", input, {"--fail-on", "none", "--category", category});
    ASSERT_EQ(a.run.code, 0) << a.run.err;
    ASSERT_EQ(a.records.size(), 1u);
    ASSERT_FALSE(a.records[0]["findings"].empty()) << a.findings_text;
    ExpectNoSecret("findings.jsonl", a.findings_text);
    ExpectNoSecret("summary.json", a.summary_text);
    ExpectNoSecret("report.html", a.report);
  }
  for (const char* cmd : {"check", "explain", "rewrite"}) {
    Result r = Run({cmd, "--json", "--category", "ad_law", "--fail-on", "none", "--db", db_,
                    "这款是全网最低价，有问题打13812345678"});
    ASSERT_EQ(r.code, 0) << cmd << r.err;
    ExpectNoSecret(cmd, r.out);
  }
}

TEST_F(Cli, NumbersThatFailTheirChecksumAreMaskedAnyway) {
  // Not findings (wrong ID check digit, Luhn fails), but they could be personal data.
  std::string text = "这款是最佳选择，身份证110101199003071234，卡号6222020200112233445";
  Audit a = RunAudit("checksum.jsonl", Record("c", "agent", text) + "\n", {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_FALSE(a.records[0]["findings"].empty());
  ExpectNoSecret("findings.jsonl", a.findings_text);
  ExpectNoSecret("summary.json", a.summary_text);
  ExpectNoSecret("report.html", a.report);
  Result r = Run({"explain", "--json", "--fail-on", "none", "--db", db_, text});
  ExpectNoSecret("explain", r.out);
  // Dates and short numbers are not personal data and stay readable.
  Result d = Run({"check", "--json", "--fail-on", "none", "--db", db_,
                  "这款是最佳选择，2024-05-01 10:00 发货，共3件，订单尾号5678"});
  json out = json::parse(d.out);
  EXPECT_TRUE(Contains(out["text"].get<std::string>(), "2024-05-01 10:00")) << d.out;
  EXPECT_TRUE(Contains(out["text"].get<std::string>(), "5678")) << d.out;
}

// ---------------------------------------------------------------- audits that scan nothing

void ExpectNothingScanned(const Cli::Audit& a, const std::string& hint) {
  EXPECT_EQ(a.run.code, 2) << a.run.err;
  EXPECT_TRUE(Contains(a.run.err, hint)) << "stderr lacks \"" << hint << "\":\n" << a.run.err;
}

TEST_F(Cli, AWrongTextFieldNamesTheFieldsSeen) {
  std::string input = Record("c", "agent", "这款是最佳选择") + "\n";
  Audit a = RunAudit("wrongfield.jsonl", input, {"--text-field", "content"});
  ExpectNothingScanned(a, "content");
  EXPECT_TRUE(Contains(a.run.err, "conversation_id")) << a.run.err;
  EXPECT_TRUE(Contains(a.run.err, "text")) << a.run.err;
}

TEST_F(Cli, ACsvHeaderWithoutTheFieldsIsRefused) {
  Audit a = RunAudit("header.csv", "id,speaker,message\n1,agent,这款是最佳选择\n");
  ExpectNothingScanned(a, "speaker");
  EXPECT_TRUE(Contains(a.run.err, "message")) << a.run.err;
}

TEST_F(Cli, RolesThatMatchNothingAreNamed) {
  std::string input = Record("c", "客服", "这款是最佳选择") + "\n" + Record("c", "顾客", "好的") + "\n";
  Audit a = RunAudit("roles.jsonl", input);
  ExpectNothingScanned(a, "客服");
  EXPECT_TRUE(Contains(a.run.err, "--agent-role")) << a.run.err;
  // Role values are matched without regard to case: "Agent" is an agent.
  Audit b = RunAudit("case.jsonl", Record("c", "Agent", "这款是最佳选择") + "\n",
                     {"--fail-on", "none"});
  EXPECT_EQ(b.run.code, 0) << b.run.err;
  ASSERT_EQ(b.records.size(), 1u);
  EXPECT_EQ(b.records[0]["scanned"], true);
  EXPECT_FALSE(b.records[0]["findings"].empty());
}

TEST_F(Cli, AnEmptyInputIsAnError) {
  Audit a = RunAudit("empty.jsonl", "");
  ExpectNothingScanned(a, "no records");
}

TEST_F(Cli, AllRecordsMalformedIsAnError) {
  Audit a = RunAudit("garbage.jsonl", "not json\nstill not json\n");
  ExpectNothingScanned(a, "malformed");
  EXPECT_EQ(a.records.size(), 2u) << "the malformed records are still written";
  // The report says so first, before any figure.
  size_t alert = a.report.find("problems-first"), overview = a.report.find("id=\"overview\"");
  ASSERT_NE(alert, std::string::npos) << a.report;
  EXPECT_LT(alert, overview);
  EXPECT_TRUE(Contains(a.report.substr(alert, overview - alert), "malformed"));
}

TEST_F(Cli, CsvOnStandardInputIsRecognised) {
  Result r = Run({"audit", "-", "--db", db_, "--out", dir_ + "/stdin-csv.out", "--fail-on",
                  "none"},
                 "conversation_id,role,text\nc1,agent,这款是最佳选择\n");
  EXPECT_EQ(r.code, 0) << r.err;
  std::string findings = ReadFile(dir_ + "/stdin-csv.out/findings.jsonl");
  ASSERT_EQ(Lines(findings).size(), 1u) << findings;
  json rec = json::parse(Lines(findings)[0]);
  EXPECT_FALSE(rec.contains("error")) << findings;
  EXPECT_FALSE(rec["findings"].empty()) << findings;
}

TEST_F(Cli, GbkInputIsRecognisedAsNotUtf8) {
  // "这款是最佳选择" in GBK.
  const std::string gbk = "\xD5\xE2\xBF\xEE\xCA\xC7\xD7\xEE\xBC\xD1\xD1\xA1\xD4\xF1";
  std::string csv = "conversation_id,role,text\n";
  for (int i = 0; i < 10; ++i) csv += "c1,agent," + gbk + "\n";
  Audit a = RunAudit("gbk.csv", csv);
  ExpectNothingScanned(a, "UTF-8");
  EXPECT_TRUE(Contains(a.run.err, "GBK")) << a.run.err;
}

// ---------------------------------------------------------------- read and write errors

TEST_F(Cli, ReadErrorsAreNotEmptyMessages) {
  // `check - < somedir`: reading a directory fails (EISDIR); before, it checked "".
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    dup2(fd, 0);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(Program().c_str(), Program().c_str(), "check", "--db", db_.c_str(), "-", nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  // `check <&-`: no standard input at all.
  pid = fork();
  if (pid == 0) {
    close(0);
    int null = open("/dev/null", O_WRONLY);  // takes fd 0: reopen so that 0 stays closed
    dup2(null, 1);
    dup2(null, 2);
    close(0);
    execl(Program().c_str(), Program().c_str(), "check", "--db", db_.c_str(), nullptr);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

int RunToDevFull(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    int full = open("/dev/full", O_WRONLY);
    int null = open("/dev/null", O_WRONLY);
    dup2(full, 1);
    dup2(null, 2);
    const std::string program = Cli::Program();
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(Cli, WriteErrorsOnStandardOutputExit2) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  EXPECT_EQ(RunToDevFull({"check", "--db", db_, "--fail-on", "none", "你好"}), 2);
  EXPECT_EQ(RunToDevFull({"check", "--json", "--db", db_, "--fail-on", "none", "你好"}), 2);
  EXPECT_EQ(RunToDevFull({"rewrite", "--db", db_, "你好"}), 2);
  EXPECT_EQ(RunToDevFull({"explain", "--db", db_, "--fail-on", "none", "你好"}), 2);
  EXPECT_EQ(RunToDevFull({"lint", "--json"}), 2);
  std::string in = dir_ + "/devfull.jsonl";
  WriteFile(in, Record("c", "agent", "你好") + "\n");
  EXPECT_EQ(RunToDevFull({"audit", in, "--db", db_, "--out", dir_ + "/devfull.out",
                          "--findings", "-", "--fail-on", "none"}),
            2);
}

// ---------------------------------------------------------------- files

TEST_F(Cli, CompileNeverWritesThroughALinkOrOverASpecialFile) {
  std::string victim = dir_ + "/victim.txt";
  WriteFile(victim, "precious");
  std::string out = dir_ + "/linked.db";
  ASSERT_EQ(symlink(victim.c_str(), (out + ".tmp").c_str()), 0);
  Result r = Run({"compile", "-o", out});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(victim), "precious");
  struct stat st;
  ASSERT_EQ(lstat((out + ".tmp").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link itself is left alone";
  Result back = Run({"check", "--db", out, "--fail-on", "none", "这款是最佳选择"});
  EXPECT_EQ(back.code, 0) << back.err;
  // A FIFO (or a device) is not a database file: refused, and left in place.
  std::string fifo = dir_ + "/fifo.db";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  Result f = Run({"compile", "-o", fifo});
  EXPECT_EQ(f.code, 2);
  EXPECT_TRUE(Contains(f.err, "not a regular file")) << f.err;
  ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  // Nothing is left behind in the directory by a failed save.
  Result missing = Run({"compile", "-o", dir_ + "/no/such/dir/x.db"});
  EXPECT_EQ(missing.code, 2);
}

// ---------------------------------------------------------------- bounds

TEST_F(Cli, NumericFlagsAreChecked) {
  std::string in = dir_ + "/flags.jsonl";
  WriteFile(in, Record("c", "agent", "你好") + "\n");
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
           {"--reply-limit", "nan"},
           {"--reply-limit", "-5"},
           {"--first-response-limit", "inf"},
           {"--promo-reply-limit", "-1"},
           {"--threads", "100000"},
           {"--max-record-bytes", "0"}}) {
    std::vector<std::string> args = {"audit", in, "--db", db_, "--out", dir_ + "/flags.out"};
    args.insert(args.end(), bad.begin(), bad.end());
    Result r = Run(args);
    EXPECT_EQ(r.code, 2) << bad[0] << " " << bad[1] << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, bad[0])) << r.err;
  }
}

TEST_F(Cli, AHugeTermListIsRefusedWhileReadingNotAfter) {
  // 2,500,000 terms (30 MB), far past the 200,000-literal bound: refused with the bound named, in bounded
  // memory (the run has 1 GiB of address space), never an uncaught bad_alloc.
  std::string path = dir_ + "/huge.terms";
  {
    std::ofstream out(path);
    out << "%format scriptqa-terms 1\n%category ad_law\n%severity review\n%reason 测试\n";
    for (int i = 0; i < 2500000; ++i) out << "词" << i << "\n";
  }
  pid_t pid = fork();
  if (pid == 0) {
#if !defined(__SANITIZE_ADDRESS__)
    // (Not under AddressSanitizer, whose shadow memory alone needs more address space.)
    struct rlimit lim = {1ull << 30, 1ull << 30};
    setrlimit(RLIMIT_AS, &lim);
#endif
    int err = open((dir_ + "/huge.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(err, 2);
    execl(Program().c_str(), Program().c_str(), "check", "你好", "--rules", path.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::string err = ReadFile(dir_ + "/huge.err");
  EXPECT_TRUE(Contains(err, "max_literals")) << err;
  EXPECT_TRUE(Contains(err, "huge.terms:200005")) << "names the line where the bound was passed: "
                                                  << err;
}

}  // namespace
