"""Word accuracy per epoch of one training run, in-domain and out-of-distribution: how far a
longer run gets (issue 17: the main job's budget against the OOD targets).

    python benchmarks/ood_epoch_curve.py --run WORKDIR --tag NAME [--config crnn_vgg7_synth]
        [-o key.sub=value ...] [--out-dir benchmarks/results]

``WORKDIR``: a ``crnn-fast quickstart`` work folder (``ckpt/e{k}.ckpt``, the per-epoch
checkpoints, ``ckpt/history.json``, ``quickstart.json`` for the training time, ``data/test``
the in-domain held-out LMDB). Each epoch's checkpoint is scored on the held-out LMDB and on
every style of ``crnn_fast.evalsets`` (greedy decoding, MindOCR's rule). Training minutes at
an epoch's end are the run's training time times the share of its steps done by then.

Writes ``OUT_DIR/ood_curve_NAME.md`` (the table) and ``OUT_DIR/ood_curve_NAME.png`` (word
accuracy against training minutes, one line per set).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from crnn_fast.evalsets import ood_sets
from crnn_fast.train.ood_eval import score_sets

RESULTS = Path(__file__).resolve().parent / "results"


def epoch_checkpoints(ckpt_dir: Path) -> list[tuple[int, Path]]:
    """``[(epoch, e{epoch}.ckpt)]`` in epoch order."""
    found = []
    for p in ckpt_dir.glob("e*.ckpt"):
        m = re.fullmatch(r"e(\d+)\.ckpt", p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def curve(run: Path, cfg: dict) -> tuple[list[dict], dict]:
    """One row per epoch checkpoint: ``{"epoch", "minutes", "step", <set>: acc, ...}``; and the
    run's ``quickstart.json``."""
    q = json.loads((run / "quickstart.json").read_text())
    steps, seconds = q["train"]["global_step"], q["train"]["seconds"]
    epochs = len(json.loads((run / "ckpt" / "history.json").read_text())["val"])
    per_epoch = steps // max(epochs, 1)
    sets = {"in-domain": run / "data" / "test", **ood_sets()}
    rows = []
    for epoch, path in epoch_checkpoints(run / "ckpt"):
        scores = score_sets(cfg, sets, ckpt=str(path))
        step = epoch * per_epoch
        row = {"epoch": epoch, "step": step, "minutes": seconds * step / steps / 60}
        row.update({k: s.acc for k, s in scores.items()})
        rows.append(row)
        print(f"epoch {epoch}: " + "  ".join(f"{k} {100 * s.acc:.1f}" for k, s in scores.items()),
              file=sys.stderr)  # fmt: skip
    return rows, q


def render(rows: list[dict], q: dict, tag: str) -> str:
    names = [k for k in rows[0] if k not in ("epoch", "step", "minutes")]
    lines = [f"# Word accuracy per epoch: {tag}", "",
             f"Run `{q['workdir']}`: {q['train']['global_step']} steps in "
             f"{q['train']['seconds'] / 60:.1f} min of training; each epoch's checkpoint "
             "(`e{k}.ckpt`) scored with greedy decoding, MindOCR's rule.", "",
             "| epoch | step | training min | " + " | ".join(names) + " |",
             "|---|---|---|" + "---|" * len(names)]  # fmt: skip
    for r in rows:
        cells = " | ".join(f"{100 * r[n]:.1f} %" for n in names)
        lines.append(f"| {r['epoch']} | {r['step']} | {r['minutes']:.1f} | {cells} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], tag: str, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [k for k in rows[0] if k not in ("epoch", "step", "minutes")]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for n in names:
        ax.plot([r["minutes"] for r in rows], [100 * r[n] for r in rows], "o-", label=n)
    ax.axhline(85, color="grey", ls="--", lw=0.8, label="OOD target (plain, textured)")
    ax.set_xlabel("training minutes (2 CPU cores)")
    ax.set_ylabel("word accuracy %")
    ax.set_ylim(0, 100)
    ax.set_title(f"word accuracy per epoch: {tag}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="quickstart work folder")
    ap.add_argument("--tag", required=True, help="report name: ood_curve_TAG.md / .png")
    ap.add_argument("--config", default="crnn_vgg7_synth", help="shipped config or YAML file")
    ap.add_argument("-o", dest="opt", action="append", default=[], help="config key.sub=value")
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if not (args.run / "quickstart.json").is_file():
        raise FileNotFoundError(f"--run {args.run} holds no quickstart.json")
    if not args.tag or "/" in args.tag:
        raise ValueError(f"--tag must be a non-empty file-name part, got {args.tag!r}")
    from ood_report import load_eval_config

    rows, q = curve(args.run, load_eval_config(args.config, args.opt))
    if not rows:
        raise FileNotFoundError(f"no e{{k}}.ckpt in {args.run / 'ckpt'}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    md = args.out_dir / f"ood_curve_{args.tag}.md"
    md.write_text(render(rows, q, args.tag))
    plot(rows, args.tag, args.out_dir / f"ood_curve_{args.tag}.png")
    print(f"wrote {md} and its .png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
