"""Run the notebooks under nbval on other numeric paths of this machine: does a committed output
depend on the CPU?

CI and the machine that executed the notebooks have different CPUs, so the same code takes
different float paths (SIMD width, BLAS kernels, thread count) and a trained model's numbers differ
in their last digits. The policy (README, "Testing") is that nbval compares only outputs that are
the same on every machine. This script checks that policy on one machine by switching each
library's kernels through its own environment variables:

  native      the libraries' own choice for this CPU, all cores
  portable    the oldest x86-64 kernels each library has: torch's ATen without AVX2
              (ATEN_CPU_CAPABILITY=default), oneDNN at SSE4.1, MKL in its conditional
              numerical reproducibility mode, OpenBLAS's Prescott kernels, NumPy without its
              AVX2/FMA3/AVX-512 loops, numba for a generic CPU
  one-thread  native kernels, one thread everywhere (torch, MKL, OpenBLAS, numba)

`--probe` first shows that each path really changes the numbers: it trains a small network with
torch and multiplies matrices with NumPy in a subprocess per path and prints a fingerprint of
each result (differing fingerprints = a different numeric path).

    .venv/bin/python tests/numeric_paths.py --probe                  # fingerprints only (seconds)
    .venv/bin/python tests/numeric_paths.py                          # all paths, all notebooks
    .venv/bin/python tests/numeric_paths.py --paths portable,one-thread notebooks/04_gans.ipynb

`make test-numeric` runs it for every path. Exit status 0 when every path passes.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "NUMBA_NUM_THREADS")}
PATHS = {
    "native": {},
    "portable": {
        "ATEN_CPU_CAPABILITY": "default",       # torch: ATen's scalar/SSE kernels, not AVX2/AVX-512
        "ONEDNN_MAX_CPU_ISA": "SSE41",          # torch's convolutions and matmuls through oneDNN
        "MKL_CBWR": "COMPATIBLE",               # MKL (torch's BLAS): its portable code path
        "OPENBLAS_CORETYPE": "Prescott",        # NumPy/SciPy's BLAS: the old SSE3 kernels
        "NPY_DISABLE_CPU_FEATURES": "AVX2,FMA3,AVX512F,AVX512_SKX",  # NumPy's own SIMD loops
        "NUMBA_CPU_NAME": "generic",            # librosa's numba code compiled for any x86-64
    },
    "one-thread": ONE_THREAD,
}

PROBE = r"""
import hashlib, numpy as np, torch
fp = lambda a: hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()[:8]
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv1d(4, 16, 5), torch.nn.Tanh(), torch.nn.Flatten(),
                          torch.nn.Linear(16 * 60, 10))
opt = torch.optim.Adam(net.parameters(), 1e-3)
X, y = torch.randn(256, 4, 64), torch.randint(0, 10, (256,))
for _ in range(30):
    opt.zero_grad(); torch.nn.functional.cross_entropy(net(X), y).backward(); opt.step()
A = np.random.default_rng(0).standard_normal((300, 300)).astype(np.float32)
print(f"torch training {fp(net(X).detach().numpy())}   numpy matmul {fp(A @ A)}   numpy exp {fp(np.exp(A))}")
"""


def env_for(path: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in set().union(*map(set, PATHS.values()))}  # start from the native path
    env.update(PATHS[path], VOICELAB_QUICK="1", PYTHONHASHSEED="0")
    return env


def probe(paths) -> None:
    for path in paths:
        out = subprocess.run([sys.executable, "-c", PROBE], env=env_for(path), capture_output=True,
                             text=True, cwd=ROOT)
        line = out.stdout.strip() or out.stderr.strip().splitlines()[-1]
        print(f"{path:>10}: {line}", flush=True)


def run_notebooks(path: str, notebooks: list[str]) -> tuple[int, float]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
           "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", *notebooks]
    print(f"\n=== {path}: {' '.join(f'{k}={v}' for k, v in PATHS[path].items()) or '(no changes)'}",
          flush=True)
    start = time.perf_counter()
    code = subprocess.run(cmd, env=env_for(path), cwd=ROOT).returncode
    return code, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: all)")
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"comma-separated, from {', '.join(PATHS)} (default: all)")
    parser.add_argument("--probe", action="store_true", help="only print each path's fingerprints")
    args = parser.parse_args(argv)
    args.paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = [p for p in args.paths if p not in PATHS]
    if unknown:
        parser.error(f"unknown numeric path(s) {', '.join(unknown)}; choose from {', '.join(PATHS)}")
    notebooks = args.notebooks or sorted(str(p.relative_to(ROOT))
                                         for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    probe(args.paths)
    if args.probe:
        return 0
    results = {path: run_notebooks(path, notebooks) for path in args.paths}
    print("\nnumeric path   notebooks under nbval")
    for path, (code, seconds) in results.items():
        print(f"{path:>12}   {'passed' if code == 0 else 'FAILED'} in {seconds / 60:.1f} min")
    return max(code for code, _ in results.values())


if __name__ == "__main__":
    sys.exit(main())
