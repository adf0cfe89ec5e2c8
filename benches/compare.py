"""The measuring side of benches/compare: a jieba + rank_bm25 baseline and xiaoer, run on
the same data, reported in one table. Nothing here is part of the product."""

import argparse, gzip, json, os, statistics, subprocess, sys, tempfile, time


def measured(cmd, stdin=None):
    """Runs a command; returns (stdout, seconds, peak RSS in MiB) of that process alone,
    read with wait4 (Popen.communicate would reap the child first)."""
    started = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    import threading

    def feed():
        if stdin:
            p.stdin.write(stdin)
        p.stdin.close()

    # Feed stdin from a thread so a child filling its stdout pipe cannot deadlock us.
    writer = threading.Thread(target=feed)
    writer.start()
    errs = []
    reader = threading.Thread(target=lambda: errs.append(p.stderr.read()))
    reader.start()
    out = p.stdout.read()
    writer.join()
    reader.join()
    err = errs[0] if errs else ""
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err}")
    return out, seconds, usage.ru_maxrss / 1024


def auc(pos, neg):
    if not pos or not neg:
        return float("nan")
    ranked = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg])
    # Mann–Whitney U with ties counted half.
    wins, i = 0.0, 0
    neg_below = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        group = ranked[i:j]
        p_in = sum(1 for _, y in group if y == 1)
        n_in = len(group) - p_in
        wins += p_in * (neg_below + n_in / 2)
        neg_below += n_in
        i = j
    return wins / (len(pos) * len(neg))


def operating_point(rows, target_right=65.0):
    """The row with the fewest out-of-scope answers among those answering >= 65% right."""
    ok = [r for r in rows if r["right"] >= target_right]
    if not ok:
        return max(rows, key=lambda r: r["right"])
    return min(ok, key=lambda r: (r["oos_answered"], r["wrong"]))


def load_ncp(data):
    docs = [json.loads(l) for l in open(os.path.join(data, "ncp_policy_qa/docs.jsonl"), encoding="utf-8")]
    queries = [json.loads(l) for l in open(os.path.join(data, "ncp_policy_qa/queries_dev.jsonl"), encoding="utf-8")]
    return docs, queries


def baseline_ncp(data):
    import jieba
    from rank_bm25 import BM25Okapi
    jieba.setLogLevel(60)
    docs, queries = load_ncp(data)
    started = time.perf_counter()
    tokenized = [jieba.lcut(d["text"]) for d in docs]
    bm25 = BM25Okapi(tokenized)
    build = time.perf_counter() - started
    ids = [d["docid"] for d in docs]
    texts = ["".join(d["text"].split()) for d in docs]
    hits1 = hits5 = spans = 0
    inscope = [q for q in queries if q["oos"] == 0]
    per_q = []
    pos, neg, decided = [], [], []
    started = time.perf_counter()
    for q in queries:
        t = time.perf_counter()
        scores = bm25.get_scores(jieba.lcut(q["query"]))
        order = sorted(range(len(ids)), key=lambda i: -scores[i])[:5]
        per_q.append(time.perf_counter() - t)
        top = scores[order[0]]
        gold = set([q["gold_docid"]] + (q.get("answer_also_in") or [])) if q["oos"] == 0 else set()
        right = ids[order[0]] in gold
        if q["oos"] == 0:
            hits1 += right
            hits5 += any(ids[i] in gold for i in order)
            spans += "".join(q["answer"].split()) in texts[order[0]]
            if right:
                pos.append(top)
        else:
            neg.append(top)
        decided.append((top, q["oos"] == 0, right))
    n_in, n_out = len(inscope), len(queries) - len(inscope)
    rows = []
    for thr in sorted({round(s, 1) for s, _, _ in decided}):
        answered = [(i, r) for s, i, r in decided if s >= thr]
        rows.append({
            "threshold": thr,
            "right": 100 * sum(1 for i, r in answered if i and r) / n_in,
            "wrong": 100 * sum(1 for i, r in answered if i and not r) / n_in,
            "oos_answered": 100 * sum(1 for i, _ in answered if not i) / n_out,
        })
    op = operating_point(rows)
    import resource
    return {
        "name": "jieba + rank_bm25 (whole documents)",
        "recall1": hits1 / n_in, "recall5": hits5 / n_in, "span": spans / n_in,
        "auc": auc(pos, neg), "op": op,
        "build_s": build, "ms_per_q": 1000 * statistics.mean(per_q),
        "p99_ms": 1000 * sorted(per_q)[int(len(per_q) * 0.99)],
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def xiaoer_ncp(data, exe, work, label, config_text=""):
    corpus, index = os.path.join(work, "corpus"), os.path.join(work, f"index-{label}")
    config = os.path.join(work, f"{label}.toml")
    open(config, "w").write(config_text)
    if not os.path.isdir(corpus):
        measured([exe, "import", os.path.join(data, "ncp_policy_qa/docs.jsonl"), "--into", corpus])
    _, build_s, build_mib = measured([exe, "--config", config, "--corpus", corpus, "--index", index, "reindex"])
    queries = os.path.join(data, "ncp_policy_qa/queries_dev.jsonl")
    out, eval_s, eval_mib = measured([exe, "--config", config, "--corpus", corpus, "--index", index,
                                      "eval", queries, "--json", "--sweep"])
    res = json.loads(out)
    rep = res["report"]
    n = sum(1 for _ in open(queries, encoding="utf-8"))
    rows = []
    for r in res["sweep"]:
        t = r["table"]
        rows.append({
            "threshold": f'{r["thresholds"]["min_coverage"]:.2f}/{r["thresholds"]["answer"]:.2f}',
            "right": 100 * t["right"] / t["in_scope"],
            "wrong": 100 * t["wrong"] / t["in_scope"],
            "oos_answered": 100 * t["out_answered"] / t["out_of_scope"],
        })
    # Per-question latency through the real `ask` path.
    questions = "\n".join(json.loads(l)["query"] for l in open(queries, encoding="utf-8")) + "\n"
    _, ask_s, ask_mib = measured([exe, "--config", config, "--corpus", corpus, "--index", index,
                                  "ask", "--json", "-"], stdin=questions)
    return {
        "name": label, "recall1": rep["recall_at_1"], "recall5": rep["recall_at_5"],
        "span": rep["answer_in_cited_passage"], "auc": rep["separation_auc"], "op": operating_point(rows),
        "build_s": build_s, "ms_per_q": 1000 * ask_s / n, "p99_ms": float("nan"),
        "peak_mib": max(build_mib, eval_mib, ask_mib),
    }


def table(results):
    print("\nncp_policy_qa dev (756 in scope, 1,627 out of scope), same machine\n")
    print("| system | Recall@1 | Recall@5 | span in cited text | AUC | at ≥65% right: wrong / OOS answered | build s | ms/question | peak MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        op = r["op"]
        print(f'| {r["name"]} | {r["recall1"]:.3f} | {r["recall5"]:.3f} | {r["span"]:.3f} | {r["auc"]:.3f} | '
              f'{op["right"]:.1f}% right: {op["wrong"]:.1f}% / {op["oos_answered"]:.1f}% | {r["build_s"]:.2f} | '
              f'{r["ms_per_q"]:.2f} | {r["peak_mib"]:.0f} |')
    base, ours = results[0], results[1]
    print(f'\nratios xiaoer/baseline: time per question {ours["ms_per_q"] / base["ms_per_q"]:.2f}, '
          f'build {ours["build_s"] / base["build_s"]:.2f}, peak memory {ours["peak_mib"] / base["peak_mib"]:.2f}')


def bq(data, exe, work):
    corpus, index = os.path.join(work, "bq-corpus"), os.path.join(work, "bq-index")
    measured([exe, "import", os.path.join(data, "bq_faq/faq.jsonl"), "--into", corpus])
    measured([exe, "--corpus", corpus, "--index", index, "reindex"])
    out, _, _ = measured([exe, "--corpus", corpus, "--index", index, "eval",
                          os.path.join(data, "bq_faq/queries_dev.jsonl"), "--json"])
    rep = json.loads(out)
    t = rep["table"]
    print("\nbq_faq dev (3,917 in scope, 861 out of scope; labels noisy, see its SOURCE.md)\n")
    print("| system | Recall@1 | Recall@5 | answered right / wrong | answers citing a known different intent | OOS handed off |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f'| xiaoer | {rep["recall_at_1"]:.3f} | {rep["recall_at_5"]:.3f} | '
          f'{100 * t["right"] / t["in_scope"]:.1f}% / {100 * t["wrong"] / t["in_scope"]:.1f}% | '
          f'{100 * rep["known_wrong_answers"]:.1f}% | {100 * t["out_handed_off"] / t["out_of_scope"]:.1f}% |')


def halves(data, exe, work):
    """Whether benches/ncp.toml's way of setting a corpus up holds on questions it was not
    fitted on: the dev questions split into odd and even lines; confidence weights fitted
    (`eval --fit`) on one half, with benches/ncp.toml's thresholds, measured on the other."""
    corpus, index = os.path.join(work, "corpus"), os.path.join(work, "index-halves")
    ncp_toml = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ncp.toml"), encoding="utf-8").read()
    base_cfg = os.path.join(work, "halves-base.toml")
    open(base_cfg, "w").write(ncp_toml)
    measured([exe, "import", os.path.join(data, "ncp_policy_qa/docs.jsonl"), "--into", corpus])
    measured([exe, "--config", base_cfg, "--corpus", corpus, "--index", index, "reindex"])
    lines = open(os.path.join(data, "ncp_policy_qa/queries_dev.jsonl"), encoding="utf-8").read().splitlines()
    files = {}
    for name, parity in (("odd", 0), ("even", 1)):  # line 1 is odd
        files[name] = os.path.join(work, f"half-{name}.jsonl")
        open(files[name], "w", encoding="utf-8").write("\n".join(lines[parity::2]) + "\n")
    # The thresholds stay benches/ncp.toml's; only the weights table is replaced.
    thresholds = ncp_toml.split("[decision.weights]")[0]
    print("\nncp_policy_qa dev halves: weights fitted on one half, measured on the other\n")
    print("| fitted on | measured on | Recall@1 | AUC | right / wrong (in scope) | OOS answered |")
    print("| --- | --- | --- | --- | --- | --- |")
    for fit_on, measure_on in (("odd", "even"), ("even", "odd")):
        out, _, _ = measured([exe, "--config", base_cfg, "--corpus", corpus, "--index", index,
                              "eval", "--fit", files[fit_on]])
        weights = out[out.index("[decision.weights]"):].split("\n#")[0]
        cfg = os.path.join(work, f"halves-{fit_on}.toml")
        open(cfg, "w").write(thresholds + weights + "\n")
        out, _, _ = measured([exe, "--config", cfg, "--corpus", corpus, "--index", index,
                              "eval", "--json", files[measure_on]])
        rep = json.loads(out)
        t = rep["table"]
        print(f'| {fit_on} lines | {measure_on} lines | {rep["recall_at_1"]:.3f} | {rep["separation_auc"]:.3f} | '
              f'{100 * t["right"] / t["in_scope"]:.1f}% / {100 * t["wrong"] / t["in_scope"]:.1f}% | '
              f'{100 * t["out_answered"] / t["out_of_scope"]:.1f}% |')


def scale(data, exe, work):
    corpus = os.path.join(work, "laws")
    os.makedirs(os.path.join(corpus, "policies"), exist_ok=True)
    n = 0
    with gzip.open(os.path.join(data, "cn_laws_corpus/laws.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            body = d["text"].split("<!-- INFO END -->")[-1]
            if not body.strip():
                continue
            title = d["title"].replace('"', "'").replace("\\", "")
            front = f'+++\nid = "{d["id"]}"\ntitle = "{title}"\nissued = "{d.get("date") or ""}"\nlang = "zh"\n+++\n'
            open(os.path.join(corpus, "policies", d["id"] + ".md"), "w", encoding="utf-8").write(front + body)
            n += 1
    index = os.path.join(work, "laws-index")
    out, build_s, build_mib = measured([exe, "--corpus", corpus, "--index", index, "reindex"])
    qs = [json.loads(l)["query"] for l in open(os.path.join(data, "ncp_policy_qa/queries_dev.jsonl"), encoding="utf-8")][:1000]
    ask_out, ask_s, ask_mib = measured([exe, "--corpus", corpus, "--index", index, "ask", "--json", "-"],
                                       stdin="\n".join(qs) + "\n")
    print(f"\nlaws corpus: {n} laws; {out.strip().splitlines()[0]}")
    print(f"re-index {build_s:.1f} s wall, peak RSS {build_mib:.0f} MiB (target ≤ 60 s, ≤ 1 GiB)")
    print(f"serving 1,000 questions through `ask --json -`: {1000 * ask_s / len(qs):.2f} ms/question incl. start-up, "
          f"peak RSS {ask_mib:.0f} MiB (target ≤ 300 MiB); p50/p99 per ask: `cargo bench --bench ask -- ask/laws`")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--xiaoer", required=True)
    ap.add_argument("what", nargs="?", default="quality")
    a = ap.parse_args()
    exe = os.path.abspath(a.xiaoer)
    with tempfile.TemporaryDirectory() as work:
        if a.what == "scale":
            scale(a.data, exe, work)
            return
        if a.what == "halves":
            halves(a.data, exe, work)
            return
        results = [baseline_ncp(a.data)]
        results.append(xiaoer_ncp(a.data, exe, work, "xiaoer (jieba words + bigrams, shipped settings)"))
        results.append(xiaoer_ncp(a.data, exe, work, "xiaoer, jieba words only", '[search]\nevidence = "jieba"\n'))
        results.append(xiaoer_ncp(a.data, exe, work, "xiaoer, character bigrams only", '[search]\nevidence = "bigrams"\n'))
        ncp_toml = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ncp.toml")
        results.append(xiaoer_ncp(a.data, exe, work, "xiaoer, settings of benches ncp.toml (bigrams, fitted weights)",
                                  open(ncp_toml, encoding="utf-8").read()))
        table(results)
        bq(a.data, exe, work)


if __name__ == "__main__":
    main()
