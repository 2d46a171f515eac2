#!/usr/bin/env python3
"""What the article's augmentation costs: seed-model epochs on Fashion-MNIST with and without
ImageDataGenerator(rotation_range=10, width/height_shift_range=0.1, zoom_range=0.2,
horizontal_flip=True), and the augmentation's own throughput; appends the result to RESULTS.md.

    python3 bench/run_augment_bench.py [--rounds 2] [--threads 2] [--limit 0]

Builds regula-bench-seed (Release, in build-bench); measures the augmentation alone (one thread,
images/s); then alternates a plain epoch and an augmented epoch (batches from `flow`, prepared
by a prefetch worker beside training) for --rounds rounds, and runs the PyTorch peer's plain epoch
in the same run for reference (the peer has no augmentation). Reports medians and the ratio
augmented / plain epoch time (the target is at most 1.15).
"""
import argparse, datetime, os, shlex, statistics, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_bench import REPO, build, commit, log, machine, peer_available, publish, run_measured  # noqa: E402

TARGET = 1.15


def parse_args():
    p = argparse.ArgumentParser(description="the cost of the article's augmentation on the seed model")
    p.add_argument("--rounds", type=int, default=2, help="alternating plain/augmented epoch pairs (medians reported)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--limit", type=int, default=0, help="first N training samples per epoch (0 = all 60,000)")
    p.add_argument("--peer", default=os.path.join(os.path.dirname(REPO), "shared", "peers", "pytorch_seed_model.py"))
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--no-peer", action="store_true", help="skip the peer's reference epoch")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build-bench"))
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--results", default=os.path.join(REPO, "bench", "RESULTS.md"))
    p.add_argument("--no-append", action="store_true")
    return p.parse_args()


def epoch_seconds(cmd):
    lines, _ = run_measured(cmd)
    epochs = [l for l in lines if l.get("what") == "epoch"]
    if not epochs:
        raise RuntimeError(f"{shlex.join(cmd)} printed no epoch line")
    return epochs[-1]["train_s"]


def spread(seconds):
    """The individual epoch times, in run order, for the table."""
    return ", ".join(f"{s:.1f}" for s in seconds)


def main():
    args = parse_args()
    exe = os.path.join(args.build_dir, "bench", "regula-bench-seed") if args.no_build else build(args.build_dir)
    common = ["--epochs", "1", "--threads", str(args.threads), "--batch", str(args.batch), "--limit", str(args.limit)]

    log("augmentation alone (one thread)")
    throughput = [l for l in run_measured([exe, "--augment-throughput", "--batch", str(args.batch), "--limit", str(args.limit)])[0]
                  if l.get("what") == "augment"][0]["images_per_s"]
    log(f"  {throughput:,.0f} images/s")

    plain, augmented = [], []
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}")
        jobs = [("plain", plain, common), ("augmented", augmented, common + ["--augment"])]
        for name, sink, cmd in (jobs if r % 2 == 0 else jobs[::-1]):
            sink.append(epoch_seconds([exe] + cmd))
            log(f"  {name}: {sink[-1]:.1f} s")

    peer_s, peer_note = None, "not run (--no-peer)"
    if not args.no_peer:
        problem = peer_available(args.python, args.peer)
        peer_note = problem or "plain epoch, full training set (the peer has no --limit)"
        if not problem:
            log("peer: one plain epoch")
            peer_s = epoch_seconds([args.python, args.peer, "--epochs", "1", "--threads", str(args.threads),
                                    "--batch", str(args.batch)])
            log(f"  peer: {peer_s:.1f} s")

    p, a = statistics.median(plain), statistics.median(augmented)
    ratio = a / p
    samples = "all 60,000" if args.limit == 0 else f"the first {args.limit:,}"
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    command = "python3 " + shlex.join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
    text = "\n".join([
        f"## {when} — {commit()} — augmentation cost", "",
        f"- machine: {machine()}",
        f"- command: `{command}` ({args.rounds} rounds, batch {args.batch}, {args.threads} threads, {samples} training samples)",
        "- augmentation: the article's ImageDataGenerator(rotation_range=10, width_shift_range=0.1, "
        "height_shift_range=0.1, zoom_range=0.2, horizontal_flip=True), `flow` with one prefetch worker", "",
        "| measurement | value |", "| --- | ---: |",
        f"| augmentation alone, one thread (images/s) | {throughput:,.0f} |",
        f"| regula epoch without augmentation (s), median of {spread(plain)} | {p:.1f} |",
        f"| regula epoch with augmentation (s), median of {spread(augmented)} | {a:.1f} |",
        f"| **augmented / plain epoch time** (target ≤ {TARGET}) | **{ratio:.3f}** |",
        f"| peer epoch without augmentation (s), same run | {'—' if peer_s is None else f'{peer_s:.1f}'} |", "",
        f"- peer: {peer_note}",
        f"- verdict: augmentation {'meets' if ratio <= TARGET else 'misses'} the ≤ {TARGET}× target", ""])
    publish(text, args.results, args.no_append)


if __name__ == "__main__":
    main()
