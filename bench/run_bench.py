#!/usr/bin/env python3
"""Benchmarks regula's seed model against the PyTorch peer and appends the result to RESULTS.md.

    python3 bench/run_bench.py [--rounds 3] [--threads 2] [--epochs-check]

Builds regula-bench-seed (Release, in build-bench), then runs it and the peer
(../shared/peers/pytorch_seed_model.py relative to the repository root) alternately, round after
round, at --threads and at 1 thread; measures each process's peak RSS with os.wait4; prints a
Markdown table of medians and ratios and appends it, with the machine, date, commit and command,
to bench/RESULTS.md. Standard library only: the peer runs under its own interpreter (--python).
"""
import argparse, datetime, json, os, shlex, statistics, subprocess, sys, tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCURACY_TARGET = 0.89
RESULTS_HEADER = """# Benchmark results

Rows are appended by `python3 bench/run_bench.py` (see bench/README.md): each section is one run
of the script. regula-bench-seed and the PyTorch peer (`../shared/peers/pytorch_seed_model.py`)
train the seed model on one fixed random batch of 128 (dropout on, Adam) and then predict it,
alternately for several rounds, at the given thread count and at 1 thread. The table holds the
medians over the rounds; "ratio" is regula / peer (above 1: regula is faster, or for memory, uses
more). Peak RSS is the process's maximum resident set (`os.wait4` ru_maxrss). Numbers from a
shared or busy machine are noisy: compare rows from the same machine only.
"""


def parse_args():
    p = argparse.ArgumentParser(description="regula vs the PyTorch peer on the seed model")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians are reported)")
    p.add_argument("--threads", type=int, default=2, help="thread count; 1 thread is always run too")
    p.add_argument("--steps", type=int, default=30, help="timed steps per measurement")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs-check", action="store_true",
                   help=f"also train 2 epochs on Fashion-MNIST and report test accuracy (target >= {ACCURACY_TARGET})")
    p.add_argument("--peer", default=os.path.join(os.path.dirname(REPO), "shared", "peers", "pytorch_seed_model.py"),
                   help="the PyTorch peer script")
    p.add_argument("--python", default="/usr/bin/python3", help="interpreter for the peer (Debian's python3-torch)")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build-bench"))
    p.add_argument("--no-build", action="store_true", help="use the existing build")
    p.add_argument("--results", default=os.path.join(REPO, "bench", "RESULTS.md"))
    p.add_argument("--no-append", action="store_true", help="print the table only")
    return p.parse_args()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build(build_dir):
    """Configures and builds only the benchmark target (Release); returns the executable's path."""
    subprocess.run(["cmake", "-S", REPO, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target", "regula-bench-seed"], check=True)
    return os.path.join(build_dir, "bench", "regula-bench-seed")


def peer_available(python, peer):
    """Why the peer cannot run, or None."""
    if not os.path.exists(peer):
        return f"peer script not found: {peer} (pass --peer)"
    probe = subprocess.run([python, "-c", "import torch, numpy"], capture_output=True)
    if probe.returncode != 0:
        return f"{python} cannot import torch/numpy: apt-get install python3-torch python3-numpy"
    return None


def run_measured(cmd):
    """Runs cmd; returns (JSON lines it printed, peak RSS in MiB). Waits with os.wait4 so that the
    rusage is the child's own, not the sum over every child this script has had."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen from waiting
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)} exited with {proc.returncode}")
        out.seek(0)
        lines = [json.loads(l) for l in out.read().decode().splitlines() if l.startswith("{")]
    return lines, usage.ru_maxrss / 1024.0  # Linux reports KiB


def measure(name, cmd, samples):
    """One run: appends train/predict samples/s and peak RSS to samples[name]."""
    lines, rss = run_measured(cmd)
    entry = samples.setdefault(name, {"train": [], "predict": [], "rss": []})
    for line in lines:
        if line.get("what") in ("train", "predict"):
            entry[line["what"]].append(line["samples_per_s"])
    entry["rss"].append(rss)
    log(f"  {name}: " + ", ".join(f"{l['what']} {l['samples_per_s']:.0f}/s" for l in lines if 'samples_per_s' in l)
        + f", peak RSS {rss:.0f} MiB")


def run_rounds(args, bench_exe, peer_ok):
    """Alternates regula and the peer (the first to run swaps each round, so that neither always
    gets the cooler machine)."""
    samples = {}
    thread_counts = [args.threads] + ([1] if args.threads != 1 else [])
    common = ["--batch", str(args.batch), "--steps", str(args.steps)]
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}")
        for t in thread_counts:
            jobs = [(f"regula@{t}", [bench_exe, "--threads", str(t)] + common)]
            if peer_ok:
                jobs.append((f"peer@{t}", [args.python, args.peer, "--threads", str(t)] + common))
            for name, cmd in (jobs if r % 2 == 0 else jobs[::-1]):
                measure(name, cmd, samples)
    return samples


def median(samples, name, key):
    values = samples.get(name, {}).get(key, [])
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    return "—" if v is None else f"{v:,.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def table(samples, threads):
    """The Markdown table of medians."""
    rows = ["| metric | regula | peer | ratio regula/peer |", "| --- | ---: | ---: | ---: |"]

    def row(label, key, t, digits=0):
        a, b = median(samples, f"regula@{t}", key), median(samples, f"peer@{t}", key)
        rows.append(f"| {label} | {fmt(a, digits)} | {fmt(b, digits)} | {fmt(ratio(a, b), 2)} |")

    counts = [threads] + ([1] if threads != 1 else [])
    for t in counts:
        row(f"training samples/s, {t} thread{'s' if t > 1 else ''}", "train", t)
        row(f"inference samples/s, {t} thread{'s' if t > 1 else ''}", "predict", t)
        row(f"peak RSS MiB, {t} thread{'s' if t > 1 else ''}", "rss", t)
    if threads != 1:
        for key, label in (("train", "training"), ("predict", "inference")):
            a = ratio(median(samples, f"regula@{threads}", key), median(samples, f"regula@1", key))
            b = ratio(median(samples, f"peer@{threads}", key), median(samples, f"peer@1", key))
            rows.append(f"| {label} speed-up 1→{threads} threads | {fmt(a, 2)} | {fmt(b, 2)} | {fmt(ratio(a, b), 2)} |")
    return "\n".join(rows)


def epochs_line(name, command, threads):
    """Trains 2 epochs on Fashion-MNIST with `command`; returns a Markdown line with the test accuracy."""
    log(f"epochs check: {name} --epochs 2 (minutes)")
    lines, rss = run_measured(command + ["--epochs", "2", "--threads", str(threads)])
    epochs = [l for l in lines if l.get("what") == "epoch"]
    if not epochs:
        return f"- {name}: no epoch line printed."
    last = epochs[-1]
    verdict = "meets" if last["test_accuracy"] >= ACCURACY_TARGET else "MISSES"
    per_epoch = ", ".join(f"epoch {l['epoch']}: {l['test_accuracy']:.4f} in {l['train_s']:.0f} s" for l in epochs)
    return (f"- {name}: test accuracy {last['test_accuracy']:.4f} after {last['epoch']} epochs, {verdict} the "
            f"target {ACCURACY_TARGET} ({per_epoch}; peak RSS {rss:.0f} MiB)")


def epochs_check(args, bench_exe, with_peer):
    """The same 2-epoch recipe (batch 128, Adam, full training set) for regula and, when available, the peer."""
    lines = [f"Epochs check ({args.threads} threads, full Fashion-MNIST training set, test set accuracy):",
             epochs_line("regula", [bench_exe], args.threads)]
    if with_peer:
        lines.append(epochs_line("peer", [args.python, args.peer], args.threads))
    return "\n".join(lines)


def git(*cmd):
    # --no-optional-locks: a status that never writes the index (others work in this tree).
    return subprocess.run(["git", "--no-optional-locks", "-C", REPO, *cmd], capture_output=True, text=True).stdout.strip()


def commit():
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain") else "")


def machine():
    model, cpus = "unknown CPU", str(os.cpu_count())
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "CPU(s)":
                cpus = value.strip()
    except OSError:
        pass
    return f"{model}, {cpus} cores"


def report(args, samples, peer_note, epochs_line):
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    command = "python3 " + shlex.join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
    lines = [f"## {when} — {commit()}", "",
             f"- machine: {machine()}",
             f"- command: `{command}` ({args.rounds} rounds, batch {args.batch}, {args.steps} timed steps)",
             f"- peer: {peer_note}", "", table(samples, args.threads), ""]
    if epochs_line:
        lines += [epochs_line, ""]
    return "\n".join(lines)


def append(path, text):
    new = not os.path.exists(path)
    with open(path, "a") as f:
        if new:
            f.write(RESULTS_HEADER + "\n")
        f.write(text + "\n")


def publish(text, results, no_append):
    """Prints a report and, unless no_append, appends it to the results file."""
    print(text)
    if not no_append:
        append(results, text)
        log(f"appended to {os.path.relpath(results, REPO)}")


def main():
    args = parse_args()
    bench_exe = os.path.join(args.build_dir, "bench", "regula-bench-seed") if args.no_build else build(args.build_dir)
    problem = peer_available(args.python, args.peer)
    if problem:
        log(f"warning: the peer will not run: {problem}")
    peer_note = problem or subprocess.run(
        [args.python, "-c", "import torch; print('pytorch ' + torch.__version__)"], capture_output=True, text=True).stdout.strip()
    samples = run_rounds(args, bench_exe, problem is None)
    accuracy = epochs_check(args, bench_exe, problem is None) if args.epochs_check else None
    publish(report(args, samples, peer_note, accuracy), args.results, args.no_append)


if __name__ == "__main__":
    main()
