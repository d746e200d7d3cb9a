#include "validators.h"

#include "utf8.h"

namespace scriptqa::internal {

int DigitValue(char32_t c) {
  if (c >= U'0' && c <= U'9') return static_cast<int>(c - U'0');
  if (c >= U'\uFF10' && c <= U'\uFF19') return static_cast<int>(c - U'\uFF10');
  switch (c) {
    // Everyday numerals and the financial (大写) ones.
    case U'〇': case U'零': return 0;
    case U'一': case U'幺': case U'壹': return 1;
    case U'二': case U'两': case U'贰': return 2;
    case U'三': case U'叁': return 3;
    case U'四': case U'肆': return 4;
    case U'五': case U'伍': return 5;
    case U'六': case U'陆': return 6;
    case U'七': case U'柒': return 7;
    case U'八': case U'捌': return 8;
    case U'九': case U'玖': return 9;
    default: return -1;
  }
}

std::string DigitsOf(std::string_view text) {
  std::string out;
  for (char32_t c : DecodeAll(text)) {
    int d = DigitValue(c);
    if (d >= 0) {
      out += static_cast<char>('0' + d);
    } else if (c == U'x' || c == U'X') {
      out += 'x';
    }
  }
  return out;
}

namespace {

bool AllDigits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool CnMobile(std::string d) {
  if (d.size() == 15 && d.compare(0, 4, "0086") == 0) d = d.substr(4);
  if (d.size() == 13 && d.compare(0, 2, "86") == 0) d = d.substr(2);
  return d.size() == 11 && AllDigits(d) && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

bool CnId18(const std::string& d) {
  if (d.size() != 18 || !AllDigits(std::string_view(d).substr(0, 17))) return false;
  if (!((d[17] >= '0' && d[17] <= '9') || d[17] == 'x')) return false;
  if (d[0] == '0') return false;  // region codes start 1–8
  int year = std::stoi(d.substr(6, 4)), month = std::stoi(d.substr(10, 2)),
      day = std::stoi(d.substr(12, 2));
  if (year < 1900 || year > 2099 || month < 1 || month > 12 || day < 1) return false;
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day > kDays[month - 1]) return false;
  if (month == 2 && day == 29 && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
    return false;
  static const int kWeights[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const char kCheck[] = "10x98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (d[i] - '0') * kWeights[i];
  return kCheck[sum % 11] == d[17];
}

bool Luhn(const std::string& d) {
  if (d.size() < 16 || d.size() > 19 || !AllDigits(d)) return false;
  int sum = 0;
  bool dbl = false;
  for (size_t i = d.size(); i-- > 0;) {
    int v = d[i] - '0';
    if (dbl) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool CnLandline(const std::string& d) {
  return d.size() >= 10 && d.size() <= 12 && AllDigits(d) && d[0] == '0' && d[1] != '0';
}

}  // namespace

bool Validate(Validator v, std::string_view normalized_match) {
  if (v == Validator::kNone) return true;
  std::string d = DigitsOf(normalized_match);
  switch (v) {
    case Validator::kCnMobile: return CnMobile(d);
    case Validator::kCnId18: return CnId18(d);
    case Validator::kLuhn: return Luhn(d);
    case Validator::kCnLandline: return CnLandline(d);
    case Validator::kNone: break;
  }
  return true;
}

}  // namespace scriptqa::internal
