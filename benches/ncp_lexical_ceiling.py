"""How far purely lexical ranking gets on ncp_policy_qa dev, to put xiaoer's document
Recall@1 in context: textbook BM25 (rank_bm25) over whole documents with character n-grams
at several settings, and a fusion of whole-document and passage BM25. Not part of the
product; run with `python3 benches/ncp_lexical_ceiling.py [../shared/data]` after
`pip install rank_bm25==0.2.2 numpy`. Takes a few minutes."""

import json, re, sys

import numpy as np
from rank_bm25 import BM25Okapi

data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
docs = {}
for line in open(f"{data}/ncp_policy_qa/docs.jsonl", encoding="utf-8"):
    d = json.loads(line)
    docs[d["docid"]] = d["text"]
ids = list(docs)
questions = [json.loads(l) for l in open(f"{data}/ncp_policy_qa/queries_dev.jsonl", encoding="utf-8")]
in_scope = [q for q in questions if q.get("gold_docid")]


def gold(q):
    return {q["gold_docid"]} | set(q.get("answer_also_in") or [])


def ngrams(text, ns=(2,)):
    """Character n-grams of Han runs; Latin words and numbers whole."""
    out = []
    for run in re.findall(r"[\u4e00-\u9fff]+|[a-z0-9]+", text.lower()):
        if not "\u4e00" <= run[0] <= "\u9fff":
            out.append(run)
            continue
        if len(run) == 1:
            out.append(run)
        for n in ns:
            out.extend(run[i:i + n] for i in range(len(run) - n + 1))
    return out


def recall_at_1(score_fn):
    return sum(ids[int(np.argmax(score_fn(q)))] in gold(q) for q in in_scope) / len(in_scope)


print(f"{len(in_scope)} in-scope questions, {len(ids)} documents\n")
print("| ranking | Recall@1 |\n| --- | --- |")
for ns, k1, b in [((2,), 1.2, 0.75), ((2,), 1.5, 0.75), ((2,), 1.2, 0.5), ((2,), 2.0, 0.5),
                  ((2, 3), 1.2, 0.5), ((1, 2), 1.2, 0.5), ((3,), 1.2, 0.5)]:
    bm = BM25Okapi([ngrams(docs[i], ns) for i in ids], k1=k1, b=b)
    r = recall_at_1(lambda q: bm.get_scores(ngrams(q["query"], ns)))
    print(f"| whole documents, n-grams {ns}, k1 {k1}, b {b} | {r:.3f} |")
    sys.stdout.flush()

# Passages: sentences gathered into ~300-character pieces; a document scores by its best
# passage plus lam times its whole-document score (both scaled by the question's best).
whole = BM25Okapi([ngrams(docs[i]) for i in ids], k1=1.2, b=0.5)
owner, pieces = [], []
for i in ids:
    current = ""
    for sentence in re.split(r"(?<=[。；！？])", docs[i]):
        current += sentence
        if len(current) > 300:
            owner.append(i)
            pieces.append(current)
            current = ""
    if current:
        owner.append(i)
        pieces.append(current)
passages = BM25Okapi([ngrams(p) for p in pieces], k1=1.2, b=0.75)
position = {d: k for k, d in enumerate(ids)}
scored = []
for q in in_scope:
    terms = ngrams(q["query"])
    doc_scores = np.array(whole.get_scores(terms))
    best_passage = np.zeros(len(ids))
    for k, s in enumerate(passages.get_scores(terms)):
        best_passage[position[owner[k]]] = max(best_passage[position[owner[k]]], s)
    scored.append((q, doc_scores / (doc_scores.max() + 1e-9), best_passage / (best_passage.max() + 1e-9)))
for lam in [0, 0.5, 1, 2, 4]:
    r = sum(ids[int(np.argmax(p + lam * d))] in gold(q) for q, d, p in scored) / len(in_scope)
    print(f"| best passage + {lam} x whole document (bigrams) | {r:.3f} |")

# Misses of whole-document BM25 whose first document holds the gold answer's opening words:
# the same notice under another id, which the labels count as wrong.
misses = copies = 0
for q, d, p in scored:
    first = ids[int(np.argmax(d))]
    if first not in gold(q):
        misses += 1
        copies += bool(q.get("answer")) and q["answer"][:30] in docs[first]
print(f"\nwhole-document BM25 misses: {misses}; of them, first document holds the gold answer's opening words: {copies}")
