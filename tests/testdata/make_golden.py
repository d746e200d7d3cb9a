#!/usr/bin/env python3
"""Builds tests/testdata/golden.jsonl from golden_cases.txt and dictionaries/*.rules.

Offsets are computed here, independently of the C++ library: byte offsets into the UTF-8 message,
and code-point offsets as Python's str indices of bytes.decode("utf-8", "replace"). Severity,
category and the first suggestion (with {match}/{masked}/{masked:K:L} rendered) come from the
rule files. Run it after editing golden_cases.txt or a rule's first suggestion:
    python3 tests/testdata/make_golden.py
"""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load_rules():
    rules = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "dictionaries", "*.rules"))):
        defaults = {}
        cur = None
        for raw in open(path, encoding="utf-8"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            value = value.strip()
            if key == "%default":
                k, _, v = value.partition(" ")
                defaults[k] = v.strip()
            elif key == "rule":
                cur = rules[value] = {"category": defaults.get("category"),
                                      "severity": defaults.get("severity"), "suggest": None}
            elif cur is not None and key in ("category", "severity"):
                cur[key] = value
            elif cur is not None and key == "suggest" and cur["suggest"] is None:
                cur["suggest"] = value
    return rules


DIGITS = {c: i for i, c in enumerate("0123456789")}
DIGITS.update({chr(0xFF10 + i): i for i in range(10)})
DIGITS.update({"〇": 0, "零": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
               "六": 6, "七": 7, "八": 8, "九": 9})


def maskable(c):
    return c in DIGITS or ("a" <= c <= "z") or ("A" <= c <= "Z") or \
        ("\uff21" <= c <= "\uff3a") or ("\uff41" <= c <= "\uff5a")


def mask(text, front, back):
    n = sum(maskable(c) for c in text)
    all_ = n <= front + back
    out, k = [], 0
    for c in text:
        if maskable(c):
            keep = not all_ and (k < front or k >= n - back)
            k += 1
            out.append(c if keep else "*")
        else:
            out.append(c)
    return "".join(out)


def render(template, matched):
    if template is None:
        return ""
    def sub(m):
        name = m.group(1)
        if name == "match":
            return matched
        if name == "masked":
            return mask(matched, 3, 4)
        k, l = name.split(":")[1:]
        return mask(matched, int(k), int(l))
    out = re.sub(r"\{(match|masked|masked:\d:\d)\}", sub, template.replace("{{", "\0").replace("}}", "\1"))
    return out.replace("\0", "{").replace("\1", "}")


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        if s.startswith("\\x", i):
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        elif s.startswith("\\u", i):
            out += chr(int(s[i + 2:i + 6], 16)).encode()
            i += 6
        else:
            out += s[i].encode()
            i += 1
    return bytes(out)


def main():
    rules = load_rules()
    cases = []
    for raw in open(os.path.join(HERE, "golden_cases.txt"), encoding="utf-8"):
        line = raw.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("> "):
            rule, _, matched = line[2:].partition(" | ")
            cases[-1]["expect"].append((rule.strip(), unescape(matched.strip())))
        else:
            cases.append({"text": unescape(line), "expect": []})
    out_lines = []
    for case in cases:
        text = case["text"]
        findings, pos = [], 0
        for rule_id, matched in case["expect"]:
            if rule_id not in rules:
                sys.exit(f"unknown rule {rule_id}")
            b = text.find(matched, pos)
            if b < 0:
                sys.exit(f"{matched!r} not in {text!r}")
            e = b + len(matched)
            r = rules[rule_id]
            m = matched.decode("utf-8", "replace")
            findings.append({
                "rule": rule_id, "category": r["category"], "severity": r["severity"],
                "byte_start": b, "byte_end": e,
                "start": len(text[:b].decode("utf-8", "replace")),
                "end": len(text[:e].decode("utf-8", "replace")),
                "matched": m, "suggestion": render(r["suggest"], m)})
            pos = b
        rec = {"text": text.decode("utf-8", "replace"), "findings": findings}
        if text != rec["text"].encode():
            rec["text_bytes_hex"] = text.hex()  # the exact input when it is not valid UTF-8
        out_lines.append(json.dumps(rec, ensure_ascii=False))
    with open(os.path.join(HERE, "golden.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(out_lines) + "\n")
    print(f"wrote {len(out_lines)} cases")


if __name__ == "__main__":
    main()
