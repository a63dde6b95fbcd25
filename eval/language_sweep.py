"""Document recall of hybrid retrieval for non-Chinese questions as BM25's weight varies.

    python -m eval.language_sweep --squad ../shared/bench/xquad/xquad_public.zh.json \\
        --ask-from ../shared/bench/xquad/xquad_public.en.json

Without ``--squad`` it runs on the bundled questions that contain non-Chinese letters. The
default ``RetrievalConfig.foreign_keyword_weight`` = 0 (BM25 skipped for questions without
Chinese characters) follows the rule that BM25 must not drag dense results down; the README
reports this sweep on both sets.
"""

from __future__ import annotations

import argparse
from pathlib import Path

WEIGHTS = (0.0, 0.25, 0.5, 1.0)  # foreign_keyword_weight values compared


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--squad", type=Path)
    p.add_argument("--ask-from", type=Path)
    p.add_argument("--questions", type=Path, help="bundled-style JSONL (default: bundled set)")
    args = p.parse_args(argv)
    from eval.runner import DEFAULT_CORPUS, DEFAULT_QUESTIONS
    from eval.workspace import index_dir_for
    from rag import Assistant
    from rag.textnorm import cjk_share

    if args.squad:
        from eval.squad import load_squad, translate_questions, write_corpus
        from eval.workspace import squad_corpus_path

        docs, questions = load_squad(args.squad)
        corpus = write_corpus(docs, squad_corpus_path(args.squad))
        if args.ask_from:
            questions = translate_questions(questions, args.ask_from)
    else:
        from eval.questions import load_questions

        corpus, questions = DEFAULT_CORPUS, load_questions(args.questions or DEFAULT_QUESTIONS)
    questions = [q for q in questions if q.answerable and cjk_share(q.question) < 1.0]
    assistant = Assistant.build(corpus=corpus, index_dir=index_dir_for(corpus))
    retrieval = assistant.config.retrieval
    print(f"{len(questions)} answerable questions with non-Chinese letters")
    for weight in WEIGHTS:
        retrieval.foreign_keyword_weight = weight
        r1 = r5 = 0
        for q in questions:
            docs = list(dict.fromkeys(h.doc_id for h in assistant.retrieve(q.question, k=20)))
            r1 += bool(set(docs[:1]) & set(q.doc_ids))
            r5 += bool(set(docs[:5]) & set(q.doc_ids))
        n = max(1, len(questions))
        print(f"foreign_keyword_weight {weight:<5} document R@1 {r1 / n:.3f}  R@5 {r5 / n:.3f}")
    return 0


if __name__ == "__main__":
    from eval.questions import errors_reported

    raise SystemExit(errors_reported(main))
