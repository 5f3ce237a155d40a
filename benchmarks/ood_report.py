"""Out-of-distribution report of a checkpoint: per-style word accuracy and NED on the OOD set
(``crnn_fast.evalsets``: word crops by trdg and captcha, never trained on), optionally on an
in-domain LMDB too, the most frequent character confusions and the misreads.

    python benchmarks/ood_report.py --ckpt CKPT --tag NAME [--in-domain LMDB]
        [--config crnn_vgg7_synth] [-o key.sub=value ...] [--out-dir benchmarks/results]

writes ``OUT_DIR/ood_NAME.md`` (tables: accuracy/NED per style, the 15 most frequent
confusion pairs from an edit-distance alignment of label vs prediction, every OOD misread with
its raw text) and ``OUT_DIR/ood_NAME_misreads.png`` (up to 48 misread crops, label and
prediction under each). Greedy decoding, MindOCR's rule (lowercase, ``[0-9a-z]``), the model
of the config (default ``crnn_vgg7_synth``) with its Conv+BN blocks folded.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import Counter
from pathlib import Path

from crnn_fast.evalsets import OOD_MANIFEST, ood_sets
from crnn_fast.train.ood_eval import (
    SetScore,
    confusions,
    format_pair,
    load_manifest_texts,
    score_sets,
)

RESULTS = Path(__file__).resolve().parent / "results"
TOP_PAIRS = 15
SHEET_MAX = 48


def _md_cell(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`" if text else "(empty)"


def render_markdown(scores: dict[str, SetScore], ood: list[str], ckpt: str, tag: str,
                    raw: dict[tuple[str, str], str], seconds: float) -> str:  # fmt: skip
    """The report's Markdown (module docstring); ``ood``: the names of ``scores`` that are
    OOD styles (the others, e.g. ``in-domain``, are listed but not in the confusions)."""
    lines = [f"# OOD report: {tag}", "",
             f"Checkpoint `{ckpt}`; greedy decoding, MindOCR's rule (lowercase, `[0-9a-z]`, "
             f"spaces ignored); {sum(len(s.rows) for s in scores.values())} images scored in "
             f"{seconds:.1f} s. OOD set: `crnn_fast/evalsets/ood` (trdg 1.8.0 `plain` / "
             "`textured`, captcha 0.7.1 `captcha`; `benchmarks/ood/README.md`).", "",
             "| set | images | word accuracy % | NED | misreads |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, s in scores.items():
        lines.append(f"| {name} | {len(s.rows)} | {100 * s.acc:.1f} | "
                     f"{s.norm_edit_distance:.3f} | {len(s.misreads)} |")  # fmt: skip
    per_style = {n: confusions((r[1], r[2]) for r in scores[n].rows) for n in ood}
    total: Counter = sum(per_style.values(), Counter())
    lines += ["", f"## The {TOP_PAIRS} most frequent confusions (OOD styles)", "",
              "Edit operations of a minimum edit-distance alignment, label -> prediction: "
              "`(missed)` = a character not read, `(extra)` = a character read that is not "
              "there.", "",
              "| label -> prediction | " + " | ".join(ood) + " | all |",
              "|---|" + "---|" * (len(ood) + 1)]  # fmt: skip
    for op, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_PAIRS]:
        cells = " | ".join(str(per_style[s][op]) for s in ood)
        lines.append(f"| `{format_pair(op)}` | {cells} | {n} |")
    lines += ["", "## Misreads (OOD styles)", "",
              "| set | key | text | label | prediction | conf |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for name in ood:
        for key, label, pred, conf in scores[name].misreads:
            text = raw.get((name, key), label)
            lines.append(f"| {name} | {key[-4:]} | {_md_cell(text)} | {_md_cell(label)} | "
                         f"{_md_cell(pred)} | {conf:.2f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _pick_misreads(scores: dict[str, SetScore], ood: list[str], limit: int):
    """Up to ``limit`` misreads, taken in turn from each style (so every style shows)."""
    queues = {n: list(scores[n].misreads) for n in ood}
    picked = []
    while len(picked) < limit and any(queues.values()):
        for n in ood:
            if queues[n] and len(picked) < limit:
                picked.append((n, *queues[n].pop(0)))
    return picked


def misread_sheet(scores: dict[str, SetScore], ood: list[str], path: Path) -> int:
    """Saves a grid of up to SHEET_MAX misread crops (label / prediction under each) to
    ``path``; returns how many it shows (0: no file written)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from crnn_fast.data import open_env

    picked = _pick_misreads(scores, ood, SHEET_MAX)
    if not picked:
        return 0
    cols = 6
    rows = (len(picked) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2.4, rows * 1.15), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (name, key, label, pred, _) in zip(axes.flat, picked):
        with open_env(scores[name].path).begin(write=False) as txn:
            img = Image.open(io.BytesIO(bytes(txn.get(key.encode())))).convert("RGB")
        ax.imshow(img)
        ax.set_title(f"{name}: {label}\n-> {pred or '(empty)'}", fontsize=7, family="monospace")
    fig.suptitle("misreads: label -> prediction", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, dpi=90, format="png")
    plt.close(fig)
    # a 256-colour palette keeps the committed sheet small (~1/4 of the RGB PNG)
    Image.open(buf).convert("RGB").quantize(256).save(path, optimize=True)
    return len(picked)


def load_eval_config(config: str, overrides: list[str]) -> dict:
    """The config (a shipped name or a YAML file) with ``overrides``, and MindSpore's context
    set up for one-process scoring."""
    from crnn_fast.configs import config_path
    from crnn_fast.train.config import load_config
    from crnn_fast.train.trainer import setup_context

    cfg_file = Path(config) if Path(config).is_file() else config_path(config)
    cfg = load_config(cfg_file, overrides)
    setup_context({**cfg, "system": {**(cfg.get("system") or {}), "distribute": False}})
    return cfg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", required=True, help="checkpoint to score")
    ap.add_argument("--tag", required=True, help="report name: ood_TAG.md, ood_TAG_misreads.png")
    ap.add_argument("--in-domain", help="also score this LMDB (e.g. the quickstart's data/test)")
    ap.add_argument("--config", default="crnn_vgg7_synth", help="shipped config or YAML file")
    ap.add_argument("-o", dest="opt", action="append", default=[], help="config key.sub=value")
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if not Path(args.ckpt).is_file():
        raise FileNotFoundError(f"--ckpt {args.ckpt} is not a file")
    if not args.tag or "/" in args.tag:
        raise ValueError(f"--tag must be a non-empty file-name part, got {args.tag!r}")
    cfg = load_eval_config(args.config, args.opt)
    sets = dict(ood_sets())
    ood = list(sets)
    if args.in_domain:
        sets["in-domain"] = Path(args.in_domain)
    t0 = time.perf_counter()
    scores = score_sets(cfg, sets, ckpt=args.ckpt)
    seconds = time.perf_counter() - t0
    args.out_dir.mkdir(parents=True, exist_ok=True)
    md = args.out_dir / f"ood_{args.tag}.md"
    png = args.out_dir / f"ood_{args.tag}_misreads.png"
    raw = load_manifest_texts(OOD_MANIFEST)
    md.write_text(render_markdown(scores, ood, args.ckpt, args.tag, raw, seconds))
    shown = misread_sheet(scores, ood, png)
    for name, s in scores.items():
        print(f"{name:10} {len(s.rows):4} images  word accuracy {100 * s.acc:5.1f} %  "
              f"NED {s.norm_edit_distance:.3f}")  # fmt: skip
    print(f"wrote {md}" + (f" and {png} ({shown} misreads)" if shown else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
