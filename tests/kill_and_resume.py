#!/usr/bin/env python3
"""Kills `regula fit` at random moments and resumes it, then checks that the run ended exactly as
the same run never interrupted: history.json, the best checkpoint, the CSV log and the test
scores byte for byte, and no temporary file left anywhere in the run directory.

    kill_and_resume.py REGULA WORK_DIR [--kills N] [--seed S] [--launcher "mpirun -np 2 ..."]

Each attempt is `regula fit EXPERIMENT --run-dir RUN` (the first, or after a kill before the run
had started) or `regula fit --resume RUN`, killed after a random time up to 0.6 of the
uninterrupted run's duration, until the run finishes; fresh runs follow until N kills are done,
each compared with the uninterrupted one: most kills are SIGKILL (kill -9: no chance to clean up), one in four SIGTERM (a
clean stop that backs up first, exit status 143). The experiment backs up every 3 batches with
double checkpointing, so kills land during steps, validation, checkpoint writes and backups.
Used by ctest with 3 kills and by bench/ as a soak with 50.

With --launcher, every regula command runs under that launcher (`mpirun -np 2 …`: one model
trained by two processes) and every kill is a SIGTERM to the launcher, which passes it to the
ranks: they agree on the batch to stop at and back up, unless the launcher's SIGKILL, which
follows, lands first (a SIGKILL to the launcher itself would leave it no chance to stop its
ranks).
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

EXPERIMENT = """\
seed: 3
threads: 1
data: {dataset: fashion_mnist, limit: 1200, validation_split: 0.2}
model: {builtin: seed}
compile: {optimizer: {class_name: Adam, learning_rate: 0.002}}
fit: {epochs: 4, batch_size: 48}
augmentation: {horizontal_flip: true, width_shift_range: 0.1}
callbacks:
  - {class_name: BackupAndRestore, backup_dir: backup, save_freq: 3, double_checkpoint: true}
  - {class_name: EarlyStopping, monitor: val_accuracy, patience: 10, mode: max, restore_best_weights: true}
  - {class_name: ReduceLROnPlateau, monitor: val_loss, factor: 0.5, patience: 1}
  - {class_name: ModelCheckpoint, filepath: best.h5, monitor: val_accuracy, save_best_only: true, mode: max}
  - {class_name: CSVLogger, filename: log.csv}
"""
COMPARED = ["history.json", "best.h5", "log.csv", "test.json"]


def fit(command, args):
    return subprocess.Popen([*command, "fit", *args, "--verbose", "0"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("regula")
    parser.add_argument("work_dir")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--launcher", default="", help="a command line that runs regula (e.g. mpirun -np 2 ...)")
    a = parser.parse_args()
    command = [*a.launcher.split(), a.regula]
    rng = random.Random(a.seed)
    work = Path(a.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    experiment = work / "experiment.yaml"
    experiment.write_text(EXPERIMENT)

    reference = work / "reference"
    started = time.monotonic()
    done = subprocess.run([*command, "fit", str(experiment), "--run-dir", str(reference), "--overwrite",
                           "--verbose", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    duration = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"the uninterrupted run failed: {done.stderr}")
    print(f"uninterrupted run: {duration:.1f} s")

    # Cycles: a fresh run killed and resumed until it finishes, compared with the reference; as
    # many cycles as it takes to reach the number of kills.
    kills, attempts, cycles = 0, 0, 0
    failures = []
    while kills < a.kills or cycles == 0:
        cycles += 1
        run = work / f"run-{cycles}"
        subprocess.run(["rm", "-rf", str(run)], check=True)
        while not (run / "report.html").exists():  # the last file a run writes
            attempts += 1
            holds_run = (run / "experiment.yaml").exists()
            proc = fit(command, ["--resume", str(run)] if holds_run else [str(experiment), "--run-dir", str(run), "--overwrite"])
            if kills < a.kills:
                try:
                    proc.wait(timeout=rng.uniform(0.05, 0.6) * duration)
                except subprocess.TimeoutExpired:
                    how = signal.SIGTERM if a.launcher or rng.random() < 0.25 else signal.SIGKILL
                    proc.send_signal(how)
                    proc.wait()
                    kills += 1
                    stderr = proc.stderr.read()
                    # SIGTERM: a clean stop (143), or the signal's default action before the handler
                    # is installed (-15), or a normal end when it lands after training.
                    allowed = (-9,) if how == signal.SIGKILL else (143, -15, 0)
                    # Under a launcher: Open MPI's mpirun passes SIGTERM to its ranks, SIGKILLs those
                    # still running a moment later (a rank backing up dies as under kill -9), and
                    # reports either end as its own status 1.
                    if a.launcher:
                        allowed = (1, -15, 0)
                    if proc.returncode not in allowed:
                        sys.exit(f"attempt {attempts}: {how.name} gave exit status {proc.returncode}: {stderr}")
                    print(f"cycle {cycles}, attempt {attempts}: {how.name}, exit status {proc.returncode}")
                    continue
            else:
                proc.wait()
            stderr = proc.stderr.read()
            if proc.returncode != 0:
                sys.exit(f"attempt {attempts} failed with exit status {proc.returncode}: {stderr}")
        for name in COMPARED:
            if (reference / name).read_bytes() != (run / name).read_bytes():
                failures.append(f"cycle {cycles}: {name} differs from the uninterrupted run's")
        temporaries = [str(p) for p in run.rglob("*") if ".tmp-" in p.name]
        if temporaries:
            failures.append(f"cycle {cycles}: temporaries left: {temporaries}")
        if (run / "backup").exists() and any((run / "backup").iterdir()):
            failures.append(f"cycle {cycles}: the backup was not removed at the end")
    print(f"{kills} kills, {attempts} attempts, {cycles} runs")
    if failures:
        sys.exit("\n".join(failures))
    print(f"identical to the uninterrupted run: {', '.join(COMPARED)}; no temporaries")


if __name__ == "__main__":
    main()
