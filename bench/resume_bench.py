#!/usr/bin/env python3
"""Long runs, measured: the cost of BackupAndRestore's backups and the kill-and-resume soak.

    python3 bench/resume_bench.py [--build-dir build-test] [--rounds 2] [--kills 50] [--skip-soak]

1. Backup cost: one epoch of the main job's model and data (54,000 images, batch 128, 422 steps;
   no validation, recalibration or checkpoint, so that the backups are what differs) with
   BackupAndRestore every 100 batches against the same epoch without it, alternating in
   `--rounds` rounds; prints the medians and their ratio (the goal is <= 1.03).
2. Soak: tests/kill_and_resume.py with `--kills` kills (kill -9 or SIGTERM at random moments,
   each resumed): the run must end byte for byte as the uninterrupted one, with no temporaries.

Each record names the CPU and the flags that decide which kernels run.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EPOCH = """\
seed: 1
data: {dataset: fashion_mnist, validation_split: 0.0}
model: {builtin: seed}
compile: {optimizer: {class_name: Adam, learning_rate: 0.001}}
fit: {epochs: 1, batch_size: 128}
augmentation: null
callbacks: %s
"""


def cpu_record():
    model, flags = "unknown", []
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name") and model == "unknown":
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            have = set(line.split(":", 1)[1].split())
            flags = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16") if f in have]
    return {"cpu": model, "flags": flags, "cores": len([1 for l in Path("/proc/cpuinfo").read_text().splitlines()
                                                      if l.startswith("processor")])}


def timed_fit(regula, experiment, run_dir):
    start = time.monotonic()
    subprocess.run([regula, "fit", str(experiment), "--run-dir", str(run_dir), "--overwrite", "--verbose", "0"],
                   check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default="build-test")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--kills", type=int, default=50)
    p.add_argument("--skip-soak", action="store_true")
    a = p.parse_args()
    regula = str(ROOT / a.build_dir / "tools" / "regula")
    print(json.dumps({"what": "machine", **cpu_record()}))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plain = work / "plain.yaml"
        plain.write_text(EPOCH % "[]")
        backed = work / "backed.yaml"
        backed.write_text(EPOCH % "[{class_name: BackupAndRestore, backup_dir: backup, save_freq: 100}]")
        times = {"none": [], "every 100 batches": []}
        for _ in range(a.rounds):
            times["none"].append(timed_fit(regula, plain, work / "run-plain"))
            times["every 100 batches"].append(timed_fit(regula, backed, work / "run-backed"))
        medians = {k: statistics.median(v) for k, v in times.items()}
        print(json.dumps({"what": "backup_cost", "rounds": a.rounds, "seconds": times,
                          "ratio": medians["every 100 batches"] / medians["none"]}))
    if a.skip_soak:
        return
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([sys.executable, str(ROOT / "tests" / "kill_and_resume.py"), regula, tmp,
                                 "--kills", str(a.kills), "--seed", "7"], capture_output=True, text=True)
        print(result.stdout, end="")
        print(json.dumps({"what": "soak", "kills": a.kills, "passed": result.returncode == 0,
                          "error": result.stderr.strip()[-500:]}))
        sys.exit(result.returncode)


if __name__ == "__main__":
    main()
