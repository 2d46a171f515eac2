#!/usr/bin/env python3
"""Benchmarks regula's seed model against the PyTorch peer and appends the result to RESULTS.md.

    python3 bench/run_bench.py [--rounds 3] [--epoch-rounds 2] [--threads 2] [--quick] [--epochs-check]
                               [--baseline OTHER/regula-bench-seed]

One command, one report. Builds regula-bench-seed and regula-bench-layers (Release, in
build-bench), then, alternating regula and the peer (../shared/peers/pytorch_seed_model.py relative
to the repository root) so that neither always gets the quieter machine:

1. steps: training and inference samples/s on one fixed batch, at --threads and at 1 thread,
   --rounds times each (medians), with each process's peak RSS; the peer in its float32 mode and
   in its bfloat16 mode (`--precision bfloat16`: torch.autocast on the CPU);
2. epochs: a full Fashion-MNIST training epoch, regula without and with the article's augmentation
   and the peer without, --epoch-rounds times (medians): epoch time, the augmented / plain ratio,
   and the peak RSS of a whole training run (loading, an epoch, the test-set evaluation);
3. layers: regula-bench-layers (Google Benchmark) at --threads and at 1 thread: every layer's
   forward and backward time, GFLOP/s for Conv2D and Dense against the GEMM ceiling, the share of
   a training step, and the per-layer thread speed-up;
4. the augmentation's own throughput (one thread).

Prints the Markdown report and appends it, with machine, date, commit and command, to
bench/RESULTS.md. --quick skips the epochs (part 2). --baseline runs another build's
regula-bench-seed (e.g. the commit before a change) in the same alternating rounds of part 1 and
adds an A/B table: this build / the baseline. Standard library only: the peer runs under its
own interpreter (--python).
"""
import argparse, datetime, json, os, shlex, statistics, subprocess, sys, tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCURACY_TARGET = 0.89
AUGMENT_TARGET = 1.15
TARGETS = {"train": 2.5, "predict": 2.0, "scaling": 1.7, "conv_of_gemm": 0.6}
RESULTS_HEADER = """# Benchmark results

Sections are appended by `python3 bench/run_bench.py` (see bench/README.md): each is one run of
the script. regula-bench-seed and the PyTorch peer (`../shared/peers/pytorch_seed_model.py`) train
the seed model on one fixed random batch of 128 (dropout on, Adam) and then predict it,
alternately for several rounds, at the given thread count and at 1 thread; then train full
Fashion-MNIST epochs; regula-bench-layers times each layer. Tables hold medians over the rounds;
"ratio" is regula / peer (above 1: regula is faster, or for memory, uses more). Peak RSS is the
process's maximum resident set (`os.wait4` ru_maxrss). Numbers from a shared or busy machine are
noisy: compare rows from the same machine only.
"""


def parse_args():
    p = argparse.ArgumentParser(description="regula vs the PyTorch peer on the seed model")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds of the step measurements")
    p.add_argument("--epoch-rounds", type=int, default=2, help="alternating rounds of full epochs")
    p.add_argument("--threads", type=int, default=2, help="thread count; 1 thread is always run too")
    p.add_argument("--steps", type=int, default=30, help="timed steps per step measurement")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--quick", action="store_true", help="skip the full epochs (part 2)")
    p.add_argument("--layer-min-time", type=float, default=0.5, help="Google Benchmark's min time per layer (s)")
    p.add_argument("--epochs-check", action="store_true",
                   help=f"also train 2 epochs on Fashion-MNIST and report test accuracy (target >= {ACCURACY_TARGET})")
    p.add_argument("--peer", default=os.path.join(os.path.dirname(REPO), "shared", "peers", "pytorch_seed_model.py"),
                   help="the PyTorch peer script")
    p.add_argument("--python", default="/usr/bin/python3", help="interpreter for the peer (Debian's python3-torch)")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build-bench"))
    p.add_argument("--no-build", action="store_true", help="use the existing build")
    p.add_argument("--results", default=os.path.join(REPO, "bench", "RESULTS.md"))
    p.add_argument("--no-append", action="store_true", help="print the report only")
    p.add_argument("--baseline", help="another build's regula-bench-seed, run A/B in the step rounds")
    p.add_argument("--baseline-label", default="baseline", help="what the baseline is (e.g. its commit)")
    return p.parse_args()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build(build_dir):
    """Configures and builds the benchmark targets (Release); returns the bench folder."""
    subprocess.run(["cmake", "-S", REPO, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target", "regula-bench-seed", "regula-bench-layers"],
                   check=True)
    return os.path.join(build_dir, "bench")


def peer_available(python, peer):
    """Why the peer cannot run, or None."""
    if not os.path.exists(peer):
        return f"peer script not found: {peer} (pass --peer)"
    probe = subprocess.run([python, "-c", "import torch, numpy"], capture_output=True)
    if probe.returncode != 0:
        return f"{python} cannot import torch/numpy: apt-get install python3-torch python3-numpy"
    return None


def peer_environment():
    """The environment of the PyTorch peer: this one without OPENBLAS_CORETYPE and
    OPENBLAS_L2_SIZE, which pin OpenBLAS (Debian's PyTorch runs Linear layers on it) to a slower
    kernel than its own CPU detection picks. regula's commands keep the environment as it is."""
    return {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}


def run_measured(cmd):
    """Runs cmd; returns (JSON lines it printed, peak RSS in MiB). Waits with os.wait4 so that the
    rusage is the child's own, not the sum over every child this script has had. A Python
    command (the peer) runs in peer_environment()."""
    is_peer = any(str(part).endswith(".py") for part in cmd)
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, env=peer_environment() if is_peer else None)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen from waiting
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)} exited with {proc.returncode}")
        out.seek(0)
        lines = [json.loads(l) for l in out.read().decode().splitlines() if l.startswith("{")]
    return lines, usage.ru_maxrss / 1024.0  # Linux reports KiB


def median(values):
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    return "—" if v is None else f"{v:,.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def percent(part, whole):
    r = ratio(part, whole)
    return None if r is None else 100 * r


def verdict(value, target, higher_is_better=True):
    if value is None:
        return "not measured"
    ok = value >= target if higher_is_better else value <= target
    return f"{'✔' if ok else '✘'} target {'≥' if higher_is_better else '≤'} {target}"


def alternate(jobs, round_index):
    """The jobs of one round, the order swapped every other round."""
    return jobs if round_index % 2 == 0 else jobs[::-1]


# ---- 1. steps ---------------------------------------------------------------------------------

def run_steps(args, bench, peer_ok):
    """samples[name] = {"train": [...], "predict": [...], "rss": [...]} for regula@T and peer@T."""
    samples = {}
    thread_counts = [args.threads] + ([1] if args.threads != 1 else [])
    common = ["--batch", str(args.batch), "--steps", str(args.steps)]
    for r in range(args.rounds):
        log(f"steps: round {r + 1}/{args.rounds}")
        for t in thread_counts:
            jobs = [(f"regula@{t}", [os.path.join(bench, "regula-bench-seed"), "--threads", str(t)] + common)]
            if cpu_has_bfloat16():
                jobs.append((f"regula_bf16@{t}", [os.path.join(bench, "regula-bench-seed"), "--threads", str(t),
                                                  "--dtype-policy", "mixed_bfloat16"] + common))
            if peer_ok:
                jobs.append((f"peer@{t}", [args.python, args.peer, "--threads", str(t)] + common))
                jobs.append((f"peer_bf16@{t}", [args.python, args.peer, "--threads", str(t), "--precision", "bfloat16"]
                             + common))
            if args.baseline:
                jobs.append((f"baseline@{t}", [args.baseline, "--threads", str(t)] + common))
            for name, cmd in alternate(jobs, r):
                lines, rss = run_measured(cmd)
                entry = samples.setdefault(name, {"train": [], "predict": [], "rss": []})
                for line in lines:
                    if line.get("what") in ("train", "predict"):
                        entry[line["what"]].append(line["samples_per_s"])
                entry["rss"].append(rss)
                log(f"  {name}: " + ", ".join(f"{l['what']} {l['samples_per_s']:.0f}/s" for l in lines
                                              if "samples_per_s" in l) + f", peak RSS {rss:.0f} MiB")
    return samples


def cpu_has_bfloat16():
    """Whether the CPU multiplies bfloat16 in hardware (regula's mixed_bfloat16 then computes in it)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def bfloat16_table(samples, threads):
    """regula's mixed_bfloat16 policy against its float32 and against the peer's bfloat16 mode."""
    def m(name, key):
        return median(samples.get(name, {}).get(key, []))

    rows = ["| metric | regula mixed_bfloat16 | regula float32 | ratio bf16/float32 | target | peer bfloat16 | "
            "ratio regula bf16/peer bf16 |", "| --- | ---: | ---: | ---: | --- | ---: | ---: |"]
    for t in [threads] + ([1] if threads != 1 else []):
        unit = f"{t} thread{'s' if t > 1 else ''}"
        for key, label in (("train", "training samples/s"), ("predict", "inference samples/s")):
            a, b, c = m(f"regula_bf16@{t}", key), m(f"regula@{t}", key), m(f"peer_bf16@{t}", key)
            target = verdict(ratio(a, b), 1.6) if key == "train" and t == threads else ""
            rows.append(f"| {label}, {unit} | {fmt(a)} | {fmt(b)} | {fmt(ratio(a, b), 2)} | {target} | {fmt(c)} | "
                        f"{fmt(ratio(a, c), 2)} |")
    return "\n".join(rows)


def steps_table(samples, threads):
    """regula against the peer's float32 mode and its bfloat16 mode (torch.autocast), same rounds."""
    def m(name, key):
        return median(samples.get(name, {}).get(key, []))

    rows = ["| metric | regula | peer float32 | ratio regula/peer | target | peer bfloat16 | ratio regula/peer bf16 |",
            "| --- | ---: | ---: | ---: | --- | ---: | ---: |"]
    for t in [threads] + ([1] if threads != 1 else []):
        unit = f"{t} thread{'s' if t > 1 else ''}"
        for key, label, target in (("train", "training samples/s", "train"), ("predict", "inference samples/s", "predict")):
            a, b, c = m(f"regula@{t}", key), m(f"peer@{t}", key), m(f"peer_bf16@{t}", key)
            rows.append(f"| {label}, {unit} | {fmt(a)} | {fmt(b)} | {fmt(ratio(a, b), 2)} | "
                        f"{verdict(ratio(a, b), TARGETS[target]) if t == threads else ''} | {fmt(c)} | "
                        f"{fmt(ratio(a, c), 2)} |")
        a, b, c = m(f"regula@{t}", "rss"), m(f"peer@{t}", "rss"), m(f"peer_bf16@{t}", "rss")
        rows.append(f"| peak RSS MiB (step benchmark), {unit} | {fmt(a)} | {fmt(b)} | {fmt(ratio(a, b), 2)} | | "
                    f"{fmt(c)} | {fmt(ratio(a, c), 2)} |")
    if threads != 1:
        for key, label in (("train", "training"), ("predict", "inference")):
            a = ratio(m(f"regula@{threads}", key), m("regula@1", key))
            b = ratio(m(f"peer@{threads}", key), m("peer@1", key))
            c = ratio(m(f"peer_bf16@{threads}", key), m("peer_bf16@1", key))
            target = verdict(a, TARGETS["scaling"]) if key == "train" else ""
            rows.append(f"| {label} speed-up 1→{threads} threads | {fmt(a, 2)} | {fmt(b, 2)} | {fmt(ratio(a, b), 2)} | "
                        f"{target} | {fmt(c, 2)} | {fmt(ratio(a, c), 2)} |")
    return "\n".join(rows)


def baseline_table(samples, threads, label):
    """This build against the baseline build, from the same alternating rounds."""
    rows = [f"| metric | this build | {label} | ratio this/{label} |", "| --- | ---: | ---: | ---: |"]
    for t in [threads] + ([1] if threads != 1 else []):
        unit = f"{t} thread{'s' if t > 1 else ''}"
        for key, what in (("train", "training samples/s"), ("predict", "inference samples/s")):
            a = median(samples.get(f"regula@{t}", {}).get(key, []))
            b = median(samples.get(f"baseline@{t}", {}).get(key, []))
            rows.append(f"| {what}, {unit} | {fmt(a)} | {fmt(b)} | {fmt(ratio(a, b), 3)} |")
    return "\n".join(rows)


# ---- 2. epochs --------------------------------------------------------------------------------

def run_epochs(args, bench, peer_ok):
    """times[name] = [epoch seconds], rss[name] = [peak MiB], accuracy[name] = [test accuracy]."""
    times, rss, accuracy = {}, {}, {}
    exe = os.path.join(bench, "regula-bench-seed")
    common = ["--epochs", "1", "--threads", str(args.threads), "--batch", str(args.batch)]
    jobs = [("regula", [exe] + common), ("regula + augmentation", [exe] + common + ["--augment"])]
    if peer_ok:
        jobs.append(("peer", [args.python, args.peer] + common))
    for r in range(args.epoch_rounds):
        log(f"epochs: round {r + 1}/{args.epoch_rounds} (minutes)")
        for name, cmd in alternate(jobs, r):
            lines, peak = run_measured(cmd)
            epochs = [l for l in lines if l.get("what") == "epoch"]
            if not epochs:
                raise RuntimeError(f"{shlex.join(cmd)} printed no epoch line")
            times.setdefault(name, []).append(epochs[-1]["train_s"])
            accuracy.setdefault(name, []).append(epochs[-1]["test_accuracy"])
            rss.setdefault(name, []).append(peak)
            log(f"  {name}: {epochs[-1]['train_s']:.1f} s, test accuracy {epochs[-1]['test_accuracy']:.4f}, "
                f"peak RSS {peak:.0f} MiB")
    return times, rss, accuracy


def epochs_table(times, rss, accuracy):
    def spread(values):
        return ", ".join(f"{v:.1f}" for v in values)

    rows = ["| one full training epoch (60,000 images, batch 128) | epoch s (median of) | peak RSS MiB | "
            "test accuracy |", "| --- | ---: | ---: | ---: |"]
    for name in times:
        rows.append(f"| {name} | {fmt(median(times[name]), 1)} ({spread(times[name])}) | {fmt(median(rss[name]))} | "
                    f"{fmt(median(accuracy[name]), 4)} |")
    plain, augmented, peer = (median(times.get(k, [])) for k in ("regula", "regula + augmentation", "peer"))
    aug_ratio = ratio(augmented, plain)
    rss_ratio = ratio(median(rss.get("regula", [])), median(rss.get("peer", [])))
    rows += ["", "| epoch measurement | value | target |", "| --- | ---: | --- |",
             f"| augmented / plain epoch time | {fmt(aug_ratio, 3)} | {verdict(aug_ratio, AUGMENT_TARGET, False)} |",
             f"| epoch speed regula / peer (plain) | {fmt(ratio(peer, plain), 2)} | |",
             f"| peak RSS of a training run, regula / peer | {fmt(rss_ratio, 2)} | {verdict(rss_ratio, 1.0, False)} |"]
    return "\n".join(rows)


# ---- 3. layers --------------------------------------------------------------------------------

def run_layers(args, bench, threads):
    """{benchmark name: (real ms, GFLOP/s or None, label)} from regula-bench-layers at `threads`."""
    log(f"layers: regula-bench-layers --threads={threads}")
    out = subprocess.run([os.path.join(bench, "regula-bench-layers"), f"--threads={threads}",
                          f"--benchmark_min_time={args.layer_min_time}", "--benchmark_format=json"],
                         capture_output=True, text=True, check=True).stdout
    result = {}
    for b in json.loads(out)["benchmarks"]:
        name = b["name"].removesuffix("/real_time")
        result[name] = (b["real_time"], b.get("GFLOP"), b.get("label", ""))
    return result


def layers_table(layers, layers_one, threads):
    step = layers.get("train_step", (None,))[0]
    gemm = layers.get("gemm", (None, None, ""))
    rows = [f"| layer | forward ms | backward ms | forward GFLOP/s | backward GFLOP/s | share of step | "
            f"speed-up 1→{threads} threads |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    names = [n.removesuffix("/forward") for n in layers if n.endswith("/forward")]
    conv_rates = []
    for n in names:
        fwd, fwd_rate, _ = layers[f"{n}/forward"]
        bwd, bwd_rate, _ = layers.get(f"{n}/backward", (None, None, ""))
        total = fwd + (bwd or 0.0)
        one = layers_one.get(f"{n}/forward", (None,))[0], layers_one.get(f"{n}/backward", (None,))[0]
        speedup = ratio((one[0] or 0.0) + (one[1] or 0.0), total) if one[0] is not None else None
        if n.startswith("conv2d") and fwd_rate and bwd_rate:
            conv_rates.append((n, fwd_rate, bwd_rate))
        rows.append(f"| {n} | {fmt(fwd, 2)} | {fmt(bwd, 2)} | {fmt(fwd_rate, 1)} | {fmt(bwd_rate, 1)} | "
                    f"{fmt(percent(total, step), 1)} % | {fmt(speedup, 2)} |")
    step_one = layers_one.get("train_step", (None,))[0]
    rows.append(f"| **train_step** (whole `train_on_batch`) | {fmt(step, 1)} | | {fmt(layers.get('train_step', (0, None))[1], 1)} "
                f"| | 100 % | {fmt(ratio(step_one, step), 2)} |")
    lines = ["\n".join(rows), "",
             f"GEMM ceiling (`gemm`, {gemm[2]}): {fmt(gemm[1], 1)} GFLOP/s at {threads} threads, "
             f"{fmt(layers_one.get('gemm', (0, None))[1], 1)} at 1 thread."]
    # Each convolution's forward + backward rate (FLOPs over time), and all of them together.
    conv_flops = conv_ms = 0.0
    for n, f, b in conv_rates:
        fwd_ms, bwd_ms = layers[f"{n}/forward"][0], layers[f"{n}/backward"][0]
        flops = f * fwd_ms + b * bwd_ms  # GFLOP/s × ms = MFLOP
        conv_flops, conv_ms = conv_flops + flops, conv_ms + fwd_ms + bwd_ms
        lines.append(f"- {n}: forward {f:.1f}, backward {b:.1f}, together {flops / (fwd_ms + bwd_ms):.1f} GFLOP/s = "
                     f"{fmt(percent(flops / (fwd_ms + bwd_ms), gemm[1]), 0)} % of the ceiling")
    if conv_ms > 0:
        together = conv_flops / conv_ms
        share = ratio(together, gemm[1])
        lines.append(f"- **all convolutions, forward + backward: {together:.1f} GFLOP/s = {fmt(percent(together, gemm[1]), 0)} % "
                     f"of the ceiling** ({verdict(share, TARGETS['conv_of_gemm'])} of the ceiling)")
    return "\n".join(lines)


# ---- 4. augmentation and the optional accuracy check -----------------------------------------

def augmentation_throughput(args, bench):
    log("augmentation alone (one thread)")
    lines, _ = run_measured([os.path.join(bench, "regula-bench-seed"), "--augment-throughput", "--batch",
                             str(args.batch)])
    return [l for l in lines if l.get("what") == "augment"][0]["images_per_s"]


def epochs_check(args, bench, with_peer):
    """2 epochs (batch 128, Adam, full training set) for regula and the peer; Markdown lines."""
    lines = [f"Epochs check ({args.threads} threads, full Fashion-MNIST training set, test set accuracy):"]
    commands = [("regula", [os.path.join(bench, "regula-bench-seed")])]
    if with_peer:
        commands.append(("peer", [args.python, args.peer]))
    for name, command in commands:
        log(f"epochs check: {name} --epochs 2 (minutes)")
        out, peak = run_measured(command + ["--epochs", "2", "--threads", str(args.threads)])
        epochs = [l for l in out if l.get("what") == "epoch"]
        if not epochs:
            lines.append(f"- {name}: no epoch line printed.")
            continue
        last = epochs[-1]
        per_epoch = ", ".join(f"epoch {l['epoch']}: {l['test_accuracy']:.4f} in {l['train_s']:.0f} s" for l in epochs)
        lines.append(f"- {name}: test accuracy {last['test_accuracy']:.4f} after {last['epoch']} epochs, "
                     f"{'meets' if last['test_accuracy'] >= ACCURACY_TARGET else 'MISSES'} the target "
                     f"{ACCURACY_TARGET} ({per_epoch}; peak RSS {peak:.0f} MiB)")
    return "\n".join(lines)


# ---- the report -------------------------------------------------------------------------------

def git(*cmd):
    # --no-optional-locks: a status that never writes the index (others work in this tree).
    return subprocess.run(["git", "--no-optional-locks", "-C", REPO, *cmd], capture_output=True, text=True).stdout.strip()


def commit():
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


# The CPU features that decide which kernels run (oneDNN's ISA dispatch, bfloat16 support).
RELEVANT_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")


def machine():
    model, cpus, flags = "unknown CPU", str(os.cpu_count()), set()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "CPU(s)":
                cpus = value.strip()
            elif key.strip() == "Flags":
                flags = set(value.split())
    except OSError:
        pass
    present = [f for f in RELEVANT_FLAGS if f in flags]
    return f"{model}, {cpus} cores, flags: {' '.join(present) or 'none of ' + ' '.join(RELEVANT_FLAGS)}"


def append(path, text):
    new = not os.path.exists(path)
    with open(path, "a") as f:
        if new:
            f.write(RESULTS_HEADER + "\n")
        f.write(text + "\n")


def main():
    args = parse_args()
    bench = os.path.join(args.build_dir, "bench") if args.no_build else build(args.build_dir)
    problem = peer_available(args.python, args.peer)
    if problem:
        log(f"warning: the peer will not run: {problem}")
    peer_note = problem or subprocess.run(
        [args.python, "-c", "import torch; print('pytorch ' + torch.__version__)"], capture_output=True, text=True).stdout.strip()

    steps = run_steps(args, bench, problem is None)
    epochs = None if args.quick else run_epochs(args, bench, problem is None)
    layers = run_layers(args, bench, args.threads)
    layers_one = run_layers(args, bench, 1) if args.threads != 1 else layers
    throughput = augmentation_throughput(args, bench)
    accuracy = epochs_check(args, bench, problem is None) if args.epochs_check else None

    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    command = "python3 " + shlex.join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
    parts = [f"## {when} — {commit()}", "",
             f"- machine: {machine()}",
             f"- command: `{command}` ({args.rounds} step rounds of {args.steps} timed steps, "
             f"{0 if args.quick else args.epoch_rounds} epoch rounds, batch {args.batch})",
             f"- peer: {peer_note}", "",
             f"### Steps (one fixed batch of {args.batch}, medians of {args.rounds} rounds)", "",
             steps_table(steps, args.threads), ""]
    if any(name.startswith("regula_bf16@") for name in steps):
        parts += [f"### Mixed precision (regula's mixed_bfloat16 policy; same rounds)", "",
                  bfloat16_table(steps, args.threads), ""]
    if args.baseline:
        parts += [f"### A/B against {args.baseline_label} (same rounds, alternating; medians)", "",
                  baseline_table(steps, args.threads, args.baseline_label), ""]
    if epochs:
        parts += [f"### Epochs ({args.threads} threads, medians of {args.epoch_rounds} rounds; augmentation: the "
                  "article's ImageDataGenerator through `flow`, one prefetch worker)", "", epochs_table(*epochs), ""]
    parts += [f"### Layers (regula-bench-layers, batch {args.batch}, {args.threads} threads; wall-clock ms)", "",
              layers_table(layers, layers_one, args.threads), "",
              f"Augmentation alone (the article's settings, one thread): {throughput:,.0f} images/s.", ""]
    if accuracy:
        parts += [accuracy, ""]
    text = "\n".join(parts)
    print(text)
    if not args.no_append:
        append(args.results, text)
        log(f"appended to {os.path.relpath(args.results, REPO)}")


if __name__ == "__main__":
    main()
