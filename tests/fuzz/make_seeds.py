#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

The seeds are written for these tests (no text from the shared transcript corpus). Each target's
input layout is described at the top of its fuzz_<target>.cc; the first bytes here follow it.
Re-run after changing a layout:  python3 tests/fuzz/make_seeds.py
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

MESSAGES = [
    "亲，这款是全网最低价，加我薇信 abc12345 发你优惠券",
    "這款產品絕對是最佳選擇！",
    "亲 加 V-信 聊",
    "加\u200b微\u200d信\ufeff吧",
    "我的手机 138 1234 5678，身份证 11010519491231002X",
    "卡号6222020200112345679，订单6222020200112345676",
    "电话：１３８ １２３４ ５６７８",
    "联系电话①③⑧①②③④⑤⑥⑦⑧",
    "幺三八一二三四五六七八",
    "最佳饮用时间是开封后三天内",
    "不能加客户微信哦，微信支付可以",
    "给个好评返现5元",
    "这个我不知道，您自己看详情页",
    "这边不清楚您的型号，我帮您查一下",
    "138****5678 已绑定",
    "我的qq 123456789，扣扣也行",
    "邮箱 abc123@qq.com 发我",
    "第一时间为您处理，销量第一",
    "100% 纯天然！",
    "ＡＢＣ１２３ａｂｃ ㎏ ㈱ ℡",
    "\ufdfa\ufdfb",
    "ß ẞ Σς İ e\u0301",
    "😀👍🏻加1\ufe0f\u20e3微信🇨🇳",
    "加加加微微微信信信",
    "wx：abcdef123 rvxa",
    "北京市朝阳区建国路88号3号楼2单元1201室",
    "",
]

BAD_BYTES = [
    b"\xe5\x8a\xa0\xff\xe5\xbe\xae\xe4\xbf\xa1",      # 加 <ff> 微信
    b"\xe4\xba\xb2\xe4\xbd\xe5\x8a\xa0\xe5\xbe\xae\xe4\xbf\xa1",  # truncated character
    b"\xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf",           # overlong encodings
    b"\xed\xa0\x80\xed\xbf\xbf",                       # lone surrogates
    b"\xf4\x90\x80\x80\xf8\x88\x80\x80\x80",           # above U+10FFFF, 5-byte form
    b"\x80\xbf\xfe\xff",                               # stray continuation bytes, fe ff
    b"\xef\xbb\xbf\xe6\x9c\x80\xe4\xbd\xb3",           # BOM + 最佳
    b"\xe5\x8a\xa0\x00\xe5\xbe\xae\x01\xe4\xbf\xa1",   # NUL and a control inside
    b"\xe6\x9c\x80\xe4",                               # ends inside a character
]


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def texts():
    for i, m in enumerate(MESSAGES):
        yield "m%02d" % i, m.encode()
    for i, b in enumerate(BAD_BYTES):
        yield "bad%02d" % i, b


def normalize():
    for i, (name, t) in enumerate(texts()):
        write("normalize", name, bytes([i % 8]) + t)


def scan():
    for i, (name, t) in enumerate(texts()):
        write("scan", name, bytes([(i * 5) % 0x80]) + t)
    write("scan", "noise00", b"\x80" + bytes(range(0, 64)))
    write("scan", "noise01", b"\x81" + bytes(range(64, 200)))


def stream():
    for i, (name, t) in enumerate(texts()):
        sizes = [1 + (i % 7), 3, 17]
        write("stream", name, bytes([i % 128, i % 3, len(sizes)] + sizes) + t)
    long = ("您好，订单已经发出，请耐心等待。" * 20 + "加微信13812345678").encode()
    write("stream", "long", bytes([4, 0, 2, 7, 200]) + long)


RULES = """%format   scriptqa-rules 1
%title    fuzz seed
%source   written for the fuzz tests
%category shop_talk  店铺用语
%default  category ad_law
%default  severity review
%default  window 10

rule a.best
  literal   最佳 | 最优 | 最好\\|最强
  suggest   品质出众的
  reason    绝对化用语
  allow     最佳饮用时间 | 最佳方法
  allow-before 唯一
  allow-after  时间
  negate    不能说 | 不敢说
  hit       这款是最佳选择
  miss      最佳饮用时间是开封后三天内

rule p.mobile
  category  privacy
  severity  block
  regex     (?:0086|86)?1[3-9][0-9]{9}
  boundary  digit
  validate  cn_mobile
  near      电话 | 手机
  suggest   {masked}
  reason    手机号
  hit       手机13812345678
  miss      订单13812345678

rule s.talk
  category  shop_talk
  severity  advice
  literal   亲亲 | 宝宝
  suggest   您{{好}} {match} {masked:2:2}
  reason    用语
"""

TERMS = """%format   scriptqa-terms 1
%category ad_law
%severity review
%reason   极限词清单
%suggest  （请改用客观描述）
最牛
史上最强\t客观描述
国家级
"""

HEADERLESS = "最牛\n史上最强\n顶级\\|特级\n"

BAD = [
    "rule a.b\n  literal 最佳\n  reason r\n",
    "%format scriptqa-rules 2\n",
    "%format scriptqa-rules 1\nrule x.one\n  literal 最佳\n  category nosuch\n  severity fatal\n  reason r\n",
    "%format scriptqa-rules 1\n%default category privacy\n%default severity block\nrule p.bad\n  regex 1[3-9\n  reason r\n",
    "%format scriptqa-rules 1\n%default category privacy\n%default severity block\nrule p.empty\n  regex a*\n  reason r\n",
    "%format scriptqa-rules 1\n%default category privacy\n%default severity block\nrule p.t\n  regex 1[3-9][0-9]{9}\n  suggest {mask}\n  validate crc32\n  window 0\n  boundary word\n  reason r\n",
    "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\nrule a.ctx\n  literal 第一\n  allow 第一时间 | | ！！\n  reason r\n",
    "%format scriptqa-rules 1\n%default category privacy\n%default severity block\nrule p.big\n  regex (a|b)*c{10}\n  reason r\n",
    "%format scriptqa-rules 1\n%default category privacy\n%default severity block\nrule p.alt\n  regex (?:" + "|".join("x%d" % i for i in range(200)) + ")\n  reason r\n",
]


def dictionary():
    write("dictionary", "rules", bytes([1]) + RULES.encode())
    write("dictionary", "rules_auto", bytes([0]) + RULES.encode())
    write("dictionary", "terms", bytes([2]) + TERMS.encode())
    write("dictionary", "headerless", bytes([2 | 4]) + HEADERLESS.encode())
    write("dictionary", "crlf_bom", bytes([0]) + ("\ufeff" + RULES.replace("\n", "\r\n")).encode())
    for i, b in enumerate(BAD):
        write("dictionary", "bad%02d" % i, bytes([1]) + b.encode())
    write("dictionary", "utf8", bytes([1]) + b"%format scriptqa-rules 1\n%default category ad_law\n"
          b"%default severity review\nrule x.utf8\n  literal \xe6\x9c\x80\xff\xe4\xbd\xb3\n  reason r\n")


def deserialize():
    write("deserialize", "raw_magic", b"\x00SCRIPTQA" + b"\x01\x00\x00\x00" + bytes(range(40)))
    write("deserialize", "raw_junk", b"\x01SCRIPTQA\x01\x00\x00\x00" + bytes(range(255, 0, -3)))
    write("deserialize", "raw_empty", b"\x00")
    # Edits of the real blob: (u16 offset scaled, op, value).
    edits = [
        [(0x0100, 0, 0xFF)],                 # a byte near the start (header)
        [(0x2000, 5, 1)],                    # a count set to 0xFFFFFFFF
        [(0x4000, 1, 3), (0x4001, 1, 5)],    # bit flips in the rules
        [(0x8000, 2, 0)],                    # truncated in the middle
        [(0xC000, 0, 0x00)],                 # the engine databases
        [(0xF000, 3, 0x41), (0x1000, 4, 2)],  # an insertion and a deletion
        [(0xFFF0, 5, 0)],                    # near the end
    ]
    for i, e in enumerate(edits):
        body = b"".join(struct.pack("<HBB", o, op, v) for o, op, v in e)
        write("deserialize", "edit%02d" % i, bytes([2]) + body)
        write("deserialize", "edit%02d_nofix" % i, bytes([3]) + body)


def cli_input():
    jsonl = "\n".join([
        '{"conversation_id":"c1","turn":1,"role":"customer","text":"在吗","timestamp":"2024-05-01T10:00:00+08:00"}',
        '{"conversation_id":"c1","turn":2,"role":"agent","text":"您好，我是客服小A，这款是最佳选择","timestamp":1714528805}',
        '{"conversation_id":"c1","turn":3,"role":"agent","text":"加微信聊","timestamp":1714528805123}',
        '{"conversation_id":2,"role":"agent","text":null}',
        'not json',
        '',
        '{"conversation_id":"c2","role":"agent","text":"\\ud800 lone"}',
    ]) + "\n"
    csv = ('conversation_id,turn,role,text,timestamp\r\n'
           'c1,1,customer,"在吗,在吗",2024-05-01 10:00:05.250Z\r\n'
           'c1,2,agent,"多行\n文本 ""引号""",1714528805\r\n'
           'c1,3,agent,"x"y,bad\r\n'
           'c1,4,agent,"unterminated\n')
    write("cli_input", "jsonl", bytes([0, 0, 0]) + jsonl.encode())
    write("cli_input", "jsonl_small_chunks", bytes([0, 1, 0]) + jsonl.encode())
    write("cli_input", "jsonl_gzip", bytes([2, 3, 0]) + jsonl.encode())
    write("cli_input", "jsonl_gzip_two_members", bytes([2 | 4, 3, 0]) + jsonl.encode())
    write("cli_input", "jsonl_gzip_truncated", bytes([2 | 8, 3, 0]) + jsonl.encode())
    write("cli_input", "jsonl_gzip_damaged", bytes([2 | 16, 3, 0]) + jsonl.encode())
    write("cli_input", "jsonl_bom_crlf", bytes([0, 2, 0]) + ("\ufeff" + jsonl.replace("\n", "\r\n")).encode())
    write("cli_input", "jsonl_oversized", bytes([0, 2, 0]) + ('{"text":"' + "长" * 600 + '"}\n' + jsonl).encode())
    write("cli_input", "csv", bytes([1, 0, 0]) + csv.encode())
    write("cli_input", "csv_small_chunks", bytes([1, 1, 0]) + csv.encode())
    write("cli_input", "csv_gzip", bytes([3, 1, 0]) + csv.encode())
    write("cli_input", "csv_bad_header", bytes([1, 0, 0]) + b'"a,b\nc,d\n')
    write("cli_input", "csv_oversized", bytes([1, 2, 0]) + ('a,b\n"' + "x" * 1500 + '\n",1\nc,d\n').encode())
    write("cli_input", "plain_gzip_magic", bytes([0, 0, 0]) + b"\x1f\x8b\x08\x00junk")


if __name__ == "__main__":
    normalize()
    scan()
    stream()
    dictionary()
    deserialize()
    cli_input()
