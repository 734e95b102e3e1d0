"""Whole-process timing shared by the bench scripts (imported from their
Python parts, run from the repository root)."""
import json, os, shlex, shutil, statistics, subprocess, tempfile, time

HYPERFINE = shutil.which("hyperfine")


def run_times(argv, runs):
    """Wall times in ms of `runs` runs of argv, after a warm-up (hyperfine when installed)."""
    if HYPERFINE:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "hf.json")
            subprocess.run([HYPERFINE, "-N", "--style", "none", "--warmup", "2", "--runs", str(runs),
                            "--export-json", out, shlex.join(argv)],
                           check=True, stdout=subprocess.DEVNULL)
            with open(out) as f:
                return [t * 1000 for t in json.load(f)["results"][0]["times"]]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def against_bar(argv, runs, bar_ms):
    """(median, p90, ok) of the wall times of argv (see run_times), ok when
    the median is under bar_ms."""
    t = run_times(argv, runs)
    med = statistics.median(t)
    return med, p90(t), med < bar_ms


def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


def timer_name():
    return "hyperfine" if HYPERFINE else "python3"
