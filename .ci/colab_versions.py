"""After the Colab-style install: print the versions that matter, fail if Colab's own were replaced.

Usage: python .ci/colab_versions.py "torch==2.11.*" "numpy==2.1.*" ...  (the Makefile's COLAB_PINS)
"""
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from packaging.requirements import Requirement

ALSO_SHOWN = ("librosa", "so-vits-svc-fork", "pyworld")  # what the Colab install picked on its own


def installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main(pins: list[str]) -> int:
    pins = [Requirement(p) for p in pins]
    names = [p.name for p in pins] + list(ALSO_SHOWN)
    print(f"Colab venv: Python {platform.python_version()}, "
          + ", ".join(f"{n} {installed(n) or 'missing'}" for n in names))
    replaced = [f"{p.name} {installed(p.name) or 'missing'} (Colab has {p.specifier})"
                for p in pins if not p.specifier.contains(installed(p.name) or "0", prereleases=True)]
    if replaced:
        print("Installing voicelab replaced Colab's preinstalled packages: " + "; ".join(replaced)
              + ". A requirement in pyproject.toml excludes Colab's version.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
