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

# Proximity: the questions were written from one sentence of their document, so the
# best document might be the one whose query bigrams sit closest together. Re-rank
# whole-document BM25's top 20 by the IDF mass of distinct query bigrams inside the best
# window of W characters, fused with the document score.
from collections import defaultdict
import math

bigram_positions, df = {}, defaultdict(int)
for i in ids:
    text = docs[i].lower()
    at = defaultdict(list)
    for k in range(len(text) - 1):
        at[text[k:k + 2]].append(k)
    bigram_positions[i] = at
    for g in at:
        df[g] += 1


def idf(g):
    return math.log((len(ids) - df[g] + 0.5) / (df[g] + 0.5) + 1)


def best_window(question, doc, width):
    hits = sorted((k, g) for g in set(ngrams(question)) for k in bigram_positions[doc].get(g, ()))
    count, mass, best, lo = defaultdict(int), 0.0, 0.0, 0
    for k, g in hits:
        mass += idf(g) if count[g] == 0 else 0.0
        count[g] += 1
        while hits[lo][0] < k - width:
            old = hits[lo][1]
            count[old] -= 1
            mass -= idf(old) if count[old] == 0 else 0.0
            lo += 1
        best = max(best, mass)
    return best


for width in (60, 120):
    reranked = []
    for q, d, _ in scored:
        top = np.argsort(-d)[:20]
        near = np.array([best_window(q["query"], ids[j], width) for j in top])
        reranked.append((q, top, d[top], near / (near.max() + 1e-9)))
    for lam in (0.25, 0.5, 1, 1000):
        r = sum(ids[top[int(np.argmax(dd + lam * nn))]] in gold(q) for q, top, dd, nn in reranked) / len(in_scope)
        print(f"| whole document + {lam} x best {width}-character window (top 20 re-ranked) | {r:.3f} |")

# Misses of whole-document BM25 whose first document holds the gold answer's opening words:
# the same notice under another id, which the labels count as wrong.
misses = copies = 0
for q, d, p in scored:
    first = ids[int(np.argmax(d))]
    if first not in gold(q):
        misses += 1
        copies += bool(q.get("answer")) and q["answer"][:30] in docs[first]
print(f"\nwhole-document BM25 misses: {misses}; of them, first document holds the gold answer's opening words: {copies}")


# Of those misses, how many name a document that holds the gold answer verbatim (the labels
# list such copies only for answers of 8 characters or more), and how many name a near
# copy of the gold document (half or more of the shorter one's 8-character shingles shared).
def shingles(text, n=8):
    text = re.sub(r"\s", "", text)
    return {text[k:k + n] for k in range(len(text) - n + 1)}


verbatim = near_copy = 0
for q, d, p in scored:
    first = ids[int(np.argmax(d))]
    if first in gold(q):
        continue
    answer = (q.get("answer") or "").strip()
    verbatim += bool(answer) and answer in docs[first]
    a, b = shingles(docs[q["gold_docid"]]), shingles(docs[first])
    near_copy += bool(a and b) and len(a & b) / min(len(a), len(b)) >= 0.5
print(f"of them, first document holds the whole gold answer: {verbatim}; is a near copy of the gold document: {near_copy}")
