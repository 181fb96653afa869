#!/usr/bin/env python3
"""Generates the demo datasets in data/samples/ (deterministic: same bytes on every run).

Four small tasks, each scored by exact match of the completion, in the four input shapes the
pipeline reads, plus a plain-text corpus the tokenizer and the built-in base are trained on:

  arithmetic.jsonl  {"prompt": "12+7=", "completion": "19"}             prompt/completion JSONL
  reversal.jsonl    {"input": "reverse: stone", "output": "enots"}      input/output JSONL (400 distinct words)
  dates.csv         question,answer  ("2024-03-07","March 7, 2024")      CSV, columns mapped
  sentiment.tsv     review<TAB>label  (templated reviews → positive/negative)  TSV, columns mapped
  corpus.txt        paragraphs of examples from all four generators (different draws)

Usage: python3 scripts/make_samples.py [--out data/samples] [--check]
--check regenerates into memory and exits 1 if any committed file differs.
"""

import argparse
import csv
import io
import json
import os
import random
import sys

ROWS = {"arithmetic": 1200, "reversal": 400, "dates": 1000, "sentiment": 1000}
CORPUS_PARAGRAPHS = 400
CORPUS_LINES_PER_PARAGRAPH = 6

WORDS = """able acid aged also area army away baby back ball band bank base bath bear beat been beer bell
belt best bill bird blow blue boat body bomb bond bone book boom born boss both bowl bulk burn bush busy
cake call calm came camp card care case cash cast cell chat chip city club coal coat code cold come cook
cool cope copy core cost crew crop dark data date dawn days dead deal dean dear debt deep deny desk dial
diet disc disk does done door dose down draw drew drop drug dual duke dust duty each earn ease east easy
edge else even ever evil exit face fact fail fair fall farm fast fate fear feed feel feet fell felt file
fill film find fine fire firm fish five flat flow food foot ford form fort four free from fuel full fund
gain game gate gave gear gene gift girl give glad goal goes gold golf gone good gray grew grey grow gulf
hair half hall hand hang hard harm hate have head hear heat held hell help here hero high hill hire hold
hole holy home hope host hour huge hung hunt hurt idea inch into iron item jack jane jean john join jump
jury just keen keep kent kept kick kill kind king knee knew know lack lady laid lake land lane last late
lead left less life lift like line link list live load loan lock logo long look lord lose loss lost love
luck made mail main make male many mark mass matt meal mean meat meet menu mere mike mile milk mill mind
mine miss mode mood moon more most move much must name navy near neck need news next nice nick nine none
nose note okay once only onto open oral over pace pack page paid pain pair palm park part pass past path
peak pick pink pipe plan play plot plug plus poll pool poor port post pull pure push race rail rain rank
rare rate read real rear rely rent rest rice rich ride ring rise risk road rock role roll roof room root
rose rule rush safe said sake sale salt same sand save seat seed seek seem seen self sell send sent ship
shop shot show shut sick side sign site size skin slip slow snow soft soil sold sole some song soon sort
soul spot star stay step stop such suit sure take tale talk tall tank tape task team tech tell tend term
test text than that them then they thin this thus till time tiny told toll tone tony took tool tour town
tree trip true tune turn twin type unit upon used user vary vast very vice view vote wage wait wake walk
wall want ward warm wash wave ways weak wear week well went were west what when whom wide wife wild will
wind wine wing wire wise wish with wood word wore work yard yeah year your zero zone apple river stone
garden window planet silver forest market bridge candle rocket orange pencil guitar""".split()

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

ITEMS = ["movie", "book", "phone", "hotel", "meal", "concert", "camera", "game", "laptop", "jacket",
         "coffee", "service", "show", "chair", "bike"]
POSITIVE = ["great", "wonderful", "excellent", "lovely", "fantastic", "superb", "delightful", "perfect",
            "brilliant", "pleasant"]
NEGATIVE = ["awful", "terrible", "boring", "broken", "disappointing", "poor", "dreadful", "useless",
            "horrible", "bland"]
OPENERS = ["I thought the {item} was {adj}.", "The {item} was {adj}.", "Honestly, this {item} is {adj}.",
           "What a {adj} {item}!", "My {item} turned out {adj}.", "Overall the {item} felt {adj}."]
CLOSERS = ["", " Would buy again.", " Not sure what else to say.", " My friends agreed.",
           " It arrived on Tuesday.", " Five words: see for yourself."]


def arithmetic(rng):
    a, b = rng.randint(0, 99), rng.randint(0, 99)
    if rng.random() < 0.5:
        return f"{a}+{b}=", str(a + b)
    a, b = max(a, b), min(a, b)
    return f"{a}-{b}=", str(a - b)


def reversal(rng):
    w = rng.choice(WORDS)
    return f"reverse: {w}", w[::-1]


def dates(rng):
    y = rng.randint(1990, 2030)
    m = rng.randint(1, 12)
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    d = rng.randint(1, DAYS_IN_MONTH[m - 1] + (1 if m == 2 and leap else 0))
    return f"{y:04d}-{m:02d}-{d:02d}", f"{MONTHS[m - 1]} {d}, {y}"


def sentiment(rng):
    positive = rng.random() < 0.5
    adj = rng.choice(POSITIVE if positive else NEGATIVE)
    text = rng.choice(OPENERS).format(item=rng.choice(ITEMS), adj=adj) + rng.choice(CLOSERS)
    return text, "positive" if positive else "negative"


GENERATORS = {"arithmetic": arithmetic, "reversal": reversal, "dates": dates, "sentiment": sentiment}


def unique_rows(name, gen, n, seed):
    """n distinct prompts (a prompt appearing twice would leak across the train/eval split)."""
    rng = random.Random(f"{name}:{seed}")
    seen, rows = set(), []
    for _ in range(100 * n):
        if len(rows) == n:
            break
        p, c = gen(rng)
        if p in seen:
            continue
        seen.add(p)
        rows.append((p, c))
    if len(rows) < n:
        raise SystemExit(f"{name}: only {len(rows)} distinct prompts, {n} wanted")
    return rows


def render():
    files = {}
    rows = {name: unique_rows(name, gen, ROWS[name], 1) for name, gen in GENERATORS.items()}
    files["arithmetic.jsonl"] = "".join(
        json.dumps({"prompt": p, "completion": c}) + "\n" for p, c in rows["arithmetic"])
    files["reversal.jsonl"] = "".join(
        json.dumps({"input": p, "output": c}) + "\n" for p, c in rows["reversal"])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["question", "answer"])
    for p, c in rows["dates"]:
        w.writerow([p, c])
    files["dates.csv"] = buf.getvalue()
    files["sentiment.tsv"] = "review\tlabel\n" + "".join(f"{p}\t{c}\n" for p, c in rows["sentiment"])

    # The corpus mixes fresh draws of every task (seed 2), written the way the model sees a
    # prompt followed by its completion, so the base learns the vocabulary and the formats.
    rng = random.Random("corpus:2")
    joiners = {"arithmetic": "", "reversal": " => ", "dates": " => ", "sentiment": " => "}
    paragraphs = []
    for _ in range(CORPUS_PARAGRAPHS):
        lines = []
        for _ in range(CORPUS_LINES_PER_PARAGRAPH):
            name = rng.choice(sorted(GENERATORS))
            p, c = GENERATORS[name](rng)
            lines.append(p + joiners[name] + c)
        paragraphs.append("\n".join(lines))
    files["corpus.txt"] = "\n\n".join(paragraphs) + "\n"
    return files


ISO_CODES = "/usr/share/iso-codes/json"


def render_iso():
    """Three lookup tasks for the real default base, from Debian's iso-codes package (the ISO 3166,
    ISO 4217 and ISO 639 code lists, LGPL-2.1-or-later; on every Debian machine). A 135M instruct
    model knows a few famous codes and guesses the rest, so the tasks start low and can improve.
    Rows are in the package's order; the pipeline's ingest makes the stable train/eval split."""
    def load(name, key):
        with open(os.path.join(ISO_CODES, name), encoding="utf-8") as f:
            return json.load(f)[key]
    def jsonl(rows):
        return "".join(json.dumps({"prompt": p, "completion": c}, ensure_ascii=False) + "\n" for p, c in rows)
    countries = [(f"ISO 3166-1 alpha-3 code of {c['name']}?", c["alpha_3"])
                 for c in load("iso_3166-1.json", "3166-1")]
    currencies = [(f"ISO 4217 code of the currency {c['name']}?", c["alpha_3"])
                  for c in load("iso_4217.json", "4217")]
    languages = [(f"ISO 639-1 code of the {l['name']} language?", l["alpha_2"])
                 for l in load("iso_639-2.json", "639-2") if "alpha_2" in l]
    return {"iso/country_codes.jsonl": jsonl(countries), "iso/currency_codes.jsonl": jsonl(currencies),
            "iso/language_codes.jsonl": jsonl(languages)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(root, "data", "samples"))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    files = render()
    if os.path.isdir(ISO_CODES):
        files.update(render_iso())
    else:
        print(f"note: {ISO_CODES} not found (Debian package iso-codes): data/samples/iso/ not regenerated",
              file=sys.stderr)
    if args.check:
        stale = []
        for name, text in files.items():
            path = os.path.join(args.out, name)
            try:
                with open(path, encoding="utf-8", newline="") as f:
                    if f.read() != text:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        if stale:
            print("out of date: " + ", ".join(stale), file=sys.stderr)
            return 1
        print("data/samples is up to date")
        return 0
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for name, text in sorted(files.items()):
        path = os.path.join(args.out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        total += len(text.encode())
        print(f"{name}: {len(text.encode())} bytes")
    print(f"total: {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
