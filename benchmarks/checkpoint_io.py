"""Benchmark: checkpoint save/load of a float32 state: savepoint vs torch, safetensors, h5py, raw.

Every library saves the same tensors (a few 64-100 MB ones plus medium ones, about --size-mb in
all; with --small, 2,000 small tensors and a 1,000-layer savepoint model) into a temporary
directory on one disk, and loads them back into preallocated torch tensors (what
``load_state_dict`` does), runs interleaved in --pairs rounds, order rotated each round. Printed
ratios are medians of the per-round ratios; the goals come from issue 3 ("Speed"):

* save: savepoint's durable save (data + index written, fsynced, renamed, directory fsynced)
  vs the fastest peer's save followed by an ``fsync`` of its file (goal <= 1.0x);
* throughput: savepoint's save vs one ``write()`` per tensor + ``fsync`` of the same bytes
  (goal >= 0.8x);
* load: savepoint (mmap, crc32c verified, one copy into the target) vs safetensors
  (``load_file`` then ``copy_`` into the target) (goal <= 1.2x);
* file size vs raw tensor bytes + 64 KiB (goal <= 1.01x);
* peak extra memory while saving vs state size (goal <= 10%), measured in a fresh subprocess per
  library: RSS high-water mark (``VmHWM`` after resetting it) minus RSS before the save, and
  tracemalloc's peak (numpy/Python allocations only; torch's and Rust's are invisible to it).

Loads read files the save just wrote (page cache warm for every library alike). Each round loads
twice per library: with torch's default thread count (it parallelises ``copy_``) and with
``torch.set_num_threads(1)`` (``--threads``); savepoint's reader uses its own helper threads
either way. ``os.sync()`` runs before each timed save so that earlier writes and deletions do
not land in the next library's fsync.

    .venv/bin/python benchmarks/checkpoint_io.py                 # ~400 MB, 3 rounds
    .venv/bin/python benchmarks/checkpoint_io.py --small         # 2,000 small tensors
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable

import numpy as np
import torch

MB = 1 << 20
GOALS = {"save": 1.0, "throughput": 0.8, "load": 1.2, "size": 1.01, "memory": 0.10}


# ---------------------------------------------------------------------------- states
def make_state(size_mb: int, seed: int = 0) -> dict[str, np.ndarray]:
    """~size_mb of float32: three big tensors (25%, 20%, 16% of the total) then 1-16 MB ones."""
    rng = np.random.default_rng(seed)
    total = size_mb * MB // 4
    counts = [int(total * f) for f in (0.25, 0.20, 0.16)]
    medium = [m * MB // 4 for m in (16, 8, 4, 2, 1)]
    i = 0
    while sum(counts) < total:
        counts.append(min(medium[i % len(medium)], total - sum(counts)))
        i += 1
    state = {}
    for n, count in enumerate(counts):
        cols = 1024 if count % 1024 == 0 else 1
        state[f"layer_{n:03d}/kernel"] = rng.random(count, dtype=np.float32).reshape(-1, cols)
    return state


def make_small_state(count: int = 2000, seed: int = 0) -> dict[str, np.ndarray]:
    """``count`` tensors of 64 to 65,536 elements (log-uniform), like a deep model's weights."""
    rng = np.random.default_rng(seed)
    sizes = np.exp(rng.uniform(np.log(64), np.log(65536), count)).astype(int)
    return {f"block_{n:04d}/w": rng.random(int(s), dtype=np.float32) for n, s in enumerate(sizes)}


# ---------------------------------------------------------------------------- libraries
def fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def files_size(paths: list[str]) -> int:
    return sum(os.path.getsize(p) for p in paths)


class Lib:
    """One library: ``save(state) -> [files]`` (durable), ``load(targets)`` into torch tensors."""

    name = ""

    def __init__(self, directory: str) -> None:
        self.base = os.path.join(directory, self.name)
        self.files: list[str] = []

    def clear(self) -> None:
        for p in self.files:
            if os.path.exists(p):
                os.remove(p)
        self.files = []


class Savepoint(Lib):
    name = "savepoint"

    def save(self, state: dict[str, np.ndarray], tensors: dict[str, torch.Tensor]) -> None:
        from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
        write_bundle(self.base, state)  # fsyncs, renames and fsyncs the directory itself
        self.files = [self.base + ".index", self.base + ".data-00000-of-00001"]

    def load(self, targets: dict[str, torch.Tensor]) -> None:
        from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader
        with BundleReader(self.base) as reader:  # every crc verified, then one copy from mmap
            reader.read_many_into({name: t.numpy() for name, t in targets.items()})


class Torch(Lib):
    name = "torch"

    def save(self, state: dict[str, np.ndarray], tensors: dict[str, torch.Tensor]) -> None:
        torch.save(tensors, self.base + ".pt")
        self.files = [self.base + ".pt"]
        fsync_path(self.files[0])

    def load(self, targets: dict[str, torch.Tensor]) -> None:
        loaded = torch.load(self.files[0], weights_only=True)
        for name, t in targets.items():
            t.copy_(loaded[name])


class Safetensors(Lib):
    name = "safetensors"

    def save(self, state: dict[str, np.ndarray], tensors: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import save_file
        save_file(tensors, self.base + ".safetensors")
        self.files = [self.base + ".safetensors"]
        fsync_path(self.files[0])

    def load(self, targets: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import load_file
        loaded = load_file(self.files[0])  # tensors copied out of its mmap
        for name, t in targets.items():
            t.copy_(loaded[name])


class H5py(Lib):
    name = "h5py"

    def save(self, state: dict[str, np.ndarray], tensors: dict[str, torch.Tensor]) -> None:
        import h5py
        path = self.base + ".h5"
        with h5py.File(path, "w") as f:
            for name, array in state.items():
                f.create_dataset(name, data=array)
        self.files = [path]
        fsync_path(path)

    def load(self, targets: dict[str, torch.Tensor]) -> None:
        import h5py
        with h5py.File(self.files[0], "r") as f:
            for name, t in targets.items():
                f[name].read_direct(t.numpy())


class Raw(Lib):
    """The floor: one ``write()`` per tensor, one fsync; load: ``readinto`` each target."""

    name = "raw"

    def save(self, state: dict[str, np.ndarray], tensors: dict[str, torch.Tensor]) -> None:
        path = self.base + ".bin"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            for array in state.values():
                view = memoryview(array).cast("B")
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        self.files = [path]

    def load(self, targets: dict[str, torch.Tensor]) -> None:
        with open(self.files[0], "rb", buffering=0) as f:
            for t in targets.values():
                f.readinto(memoryview(t.numpy()).cast("B"))


LIBS: list[type[Lib]] = [Savepoint, Torch, Safetensors, H5py, Raw]
PEERS = ("torch", "safetensors", "h5py")


# ---------------------------------------------------------------------------- model level
def make_model(layers: int = 1000, units: int = 32):
    """A savepoint Sequential of ``layers`` Dense layers: 2 tensors each."""
    import savepoint as keras
    model = keras.Sequential([keras.layers.Dense(units) for _ in range(layers)])
    model.build((None, units))
    return model


def model_runs(model, directory: str) -> dict[str, tuple[Callable, Callable]]:
    from safetensors.torch import load_file, save_file
    prefix = os.path.join(directory, "model", "cp.ckpt")
    pt, st = os.path.join(directory, "model.pt"), os.path.join(directory, "model.safetensors")

    def torch_save():
        torch.save(model.state_dict(), pt)
        fsync_path(pt)

    def st_save():
        save_file(model.state_dict(), st)
        fsync_path(st)

    return {
        "savepoint": (lambda: model.save_weights(prefix), lambda: model.load_weights(prefix)),
        "torch": (torch_save, lambda: model.load_state_dict(torch.load(pt, weights_only=True))),
        "safetensors": (st_save, lambda: model.load_state_dict(load_file(st))),
    }


# ---------------------------------------------------------------------------- memory probe
def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def memory_probe(lib_name: str, size_mb: int, small: bool, directory: str) -> dict:
    """Run in a fresh process: peak memory a save adds on top of the state it saves."""
    import gc
    import tracemalloc
    state = make_small_state() if small else make_state(size_mb)
    tensors = {k: torch.from_numpy(v) for k, v in state.items()}
    lib = {c.name: c for c in LIBS}[lib_name](directory)
    lib.save(dict(list(state.items())[:2]), dict(list(tensors.items())[:2]))  # warm imports
    lib.clear()
    gc.collect()
    os.sync()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    before = _rss_kib("VmRSS")
    tracemalloc.start()
    lib.save(state, tensors)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = _rss_kib("VmHWM")
    lib.clear()
    state_bytes = sum(a.nbytes for a in state.values())
    return {"rss_extra": (peak - before) * 1024, "traced_peak": traced_peak,
            "state_bytes": state_bytes}


def measure_memory(lib_name: str, args: argparse.Namespace, directory: str) -> dict:
    cmd = [sys.executable, __file__, "--_memprobe", lib_name, "--size-mb", str(args.size_mb),
           "--dir", directory] + (["--small"] if args.small else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- driver
def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_bundle_rounds(state, directory: str, pairs: int,
                      threads: list[int]) -> tuple[dict, dict, dict]:
    """Saves per library, loads per torch thread count then library, file sizes."""
    tensors = {k: torch.from_numpy(v) for k, v in state.items()}
    targets = {k: torch.empty_like(v) for k, v in tensors.items()}
    libs = [cls(directory) for cls in LIBS]
    saves: dict[str, list[float]] = {lib.name: [] for lib in libs}
    loads: dict[int, dict[str, list[float]]] = {n: {lib.name: [] for lib in libs}
                                                for n in threads}
    sizes: dict[str, int] = {}
    for lib in libs:  # warm-up round: imports, first-touch of the targets
        lib.save(state, tensors)
        lib.load(targets)
        lib.clear()
    for r in range(pairs):
        order = libs[r % len(libs):] + libs[:r % len(libs)]
        for lib in order:
            os.sync()  # settle earlier writes and deletes (trims) outside the timings
            saves[lib.name].append(timed(lambda: lib.save(state, tensors)))
        for n in threads[r % len(threads):] + threads[:r % len(threads)]:
            with torch_threads(n):
                for lib in order:
                    for t in targets.values():
                        t.zero_()
                    loads[n][lib.name].append(timed(lambda: lib.load(targets)))
                    for name, t in targets.items():
                        if not torch.equal(t, tensors[name]):
                            raise AssertionError(f"{lib.name} loaded wrong values for {name}")
        for lib in order:
            sizes[lib.name] = files_size(lib.files)
            lib.clear()
    return saves, loads, sizes


DEFAULT_THREADS = torch.get_num_threads()


class torch_threads:
    """``with torch_threads(n):`` runs with ``n`` torch threads (0: torch's default)."""

    def __init__(self, n: int) -> None:
        self.n = n or DEFAULT_THREADS

    def __enter__(self) -> None:
        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.before)


def run_model_rounds(directory: str, pairs: int) -> tuple[dict, dict]:
    model = make_model()
    runs = model_runs(model, directory)
    saves = {k: [] for k in runs}
    loads = {k: [] for k in runs}
    for save, load in runs.values():
        save(), load()
    for r in range(pairs):
        names = list(runs)
        for name in names[r % 3:] + names[:r % 3]:
            os.sync()
            saves[name].append(timed(runs[name][0]))
            loads[name].append(timed(runs[name][1]))
    return saves, loads


def median_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b))


def verdict(name: str, value: float) -> str:
    goal = GOALS[name]
    ok = value >= goal if name == "throughput" else value <= goal
    sign = ">=" if name == "throughput" else "<="
    return f"goal {sign} {goal:g}: {'met' if ok else 'MISSED'}"


def _fmt(values: list[float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def report(state, saves, all_loads, sizes, memory) -> None:
    nbytes = sum(a.nbytes for a in state.values())
    loads = next(iter(all_loads.values()))  # the first thread setting (torch's default)
    print(f"\nstate: {len(state)} float32 tensors, {nbytes / MB:.1f} MiB")
    print(f"{'library':<12}{'save s':>9}{'MB/s':>8}{'load s':>9}{'file MiB':>10}"
          f"{'rss+ MiB':>10}{'traced MiB':>11}")
    for name in saves:
        s, l = statistics.median(saves[name]), statistics.median(loads[name])
        mem = memory.get(name, {})
        rss = f"{mem['rss_extra'] / MB:.1f}" if mem else "-"
        traced = f"{mem['traced_peak'] / MB:.1f}" if mem else "-"
        print(f"{name:<12}{s:>9.3f}{nbytes / MB / s:>8.0f}{l:>9.3f}{sizes[name] / MB:>10.2f}"
              f"{rss:>10}{traced:>11}   rounds: save {_fmt(saves[name])} load {_fmt(loads[name])}")
    best = min(PEERS, key=lambda n: statistics.median(saves[n]))
    sp = saves["savepoint"]
    ratios = {
        "save": median_ratio(sp, saves[best]),
        "throughput": median_ratio(saves["raw"], sp),
        "load": median_ratio(loads["savepoint"], loads["safetensors"]),
        "size": sizes["savepoint"] / (nbytes + 64 * 1024),
    }
    if "savepoint" in memory:
        ratios["memory"] = memory["savepoint"]["rss_extra"] / nbytes
    for n, per_lib in list(all_loads.items())[1:]:
        ratios[f"load@{n}"] = median_ratio(per_lib["savepoint"], per_lib["safetensors"])
        print(f"loads with {n} torch thread(s): " + ", ".join(
            f"{name} {statistics.median(times):.3f} s" for name, times in per_lib.items()))
    labels = {"save": f"save vs fastest peer+fsync ({best})",
              "throughput": "save throughput vs raw write+fsync",
              "load": "load vs safetensors (both into preallocated tensors)",
              "size": "file size vs raw bytes + 64 KiB",
              "memory": "peak extra RSS while saving vs state size"}
    labels["load"] += f" [{DEFAULT_THREADS} torch threads]"
    labels.update({f"load@{n}": f"load vs safetensors [{n} torch thread(s)]"
                   for n in all_loads if n})
    print()
    for key, value in ratios.items():
        print(f"  {labels[key]:<68} {value:6.3f}x   {verdict(key.split('@')[0], value)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=400)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="2,000 small tensors + a model")
    parser.add_argument("--dir", default=None, help="where to write (default: system temp dir)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--threads", default="0,1",
                        help="torch thread counts to load with, comma-separated (0: default)")
    parser.add_argument("--_memprobe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._memprobe:
        directory = tempfile.mkdtemp(dir=args.dir)
        try:
            print(json.dumps(memory_probe(args._memprobe, args.size_mb, args.small, directory)))
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    directory = tempfile.mkdtemp(prefix="savepoint-bench-", dir=args.dir)
    print(f"writing to {directory} (device {os.stat(directory).st_dev:#x}); "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs")
    try:
        state = make_small_state() if args.small else make_state(args.size_mb)
        threads = [int(n) for n in args.threads.split(",")]
        saves, loads, sizes = run_bundle_rounds(state, directory, args.pairs, threads)
        memory = {} if args.no_memory else {
            name: measure_memory(name, args, directory) for name in ("savepoint",) + PEERS}
        report(state, saves, loads, sizes, memory)
        if args.small:
            m_saves, m_loads = run_model_rounds(directory, args.pairs)
            print("\nmodel level: Sequential of 1,000 Dense(32) (2,000 tensors); savepoint "
                  "save_weights/load_weights vs state_dict + torch.save/safetensors (+fsync)")
            for name in m_saves:
                print(f"  {name:<12} save {statistics.median(m_saves[name]):7.3f} s   "
                      f"load {statistics.median(m_loads[name]):7.3f} s")
            for peer in ("torch", "safetensors"):
                print(f"  savepoint / {peer:<12} save "
                      f"{median_ratio(m_saves['savepoint'], m_saves[peer]):6.2f}x   load "
                      f"{median_ratio(m_loads['savepoint'], m_loads[peer]):6.2f}x")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
