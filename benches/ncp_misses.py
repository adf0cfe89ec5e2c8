"""Sorts xiaoer's document misses on ncp_policy_qa dev: how many cite a document that holds
the whole gold answer (the labels list such copies only for answers of 8 characters or
more), and how many cite a near copy of the gold document (half or more of the shorter
one's 8-character shingles shared). Not part of the product. Reads `eval --details`:

    xiaoer --config benches/ncp.toml --corpus /tmp/ncp/corpus --index /tmp/ncp/index \\
        eval --details ../shared/data/ncp_policy_qa/queries_dev.jsonl > /tmp/details.txt
    python3 benches/ncp_misses.py /tmp/details.txt [../shared/data]
"""

import json, re, sys

details = sys.argv[1]
data = sys.argv[2] if len(sys.argv) > 2 else "../shared/data"
docs = {}
for line in open(f"{data}/ncp_policy_qa/docs.jsonl", encoding="utf-8"):
    d = json.loads(line)
    docs[d["docid"]] = d["text"]
questions = {}
for line in open(f"{data}/ncp_policy_qa/queries_dev.jsonl", encoding="utf-8"):
    q = json.loads(line)
    questions[q["query"]] = q


def shingles(text, n=8):
    text = re.sub(r"\s", "", text)
    return {text[k:k + n] for k in range(len(text) - n + 1)}


misses = verbatim = near_copy = 0
for line in open(details, encoding="utf-8"):
    if not line.startswith("MISS"):
        continue
    top, question = re.search(r" top (\S+) expect \S+ rank \S+ \| (.*)$", line.rstrip("\n")).groups()
    q = questions[question]
    misses += 1
    verbatim += bool(q["answer"]) and q["answer"] in docs[top]
    a, b = shingles(docs[q["gold_docid"]]), shingles(docs[top])
    near_copy += bool(a and b) and len(a & b) / min(len(a), len(b)) >= 0.5
print(f"misses {misses}: cite a document holding the gold answer {verbatim}; a near copy of the gold document {near_copy}")
