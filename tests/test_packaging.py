"""The wheel installs one distribution with every part under ``kanhw``."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_subpackages_under_kanhw(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(ROOT)], check=True,
                   capture_output=True)
    wheel = next((tmp_path / "dist").glob("kanhw-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"kanhw"}, tops  # nothing with a generic name lands in site-packages
    # every module of every source folder is in the wheel (a package missing
    # from pyproject.toml's list would be left out)
    folders = {"kanhw": "kanhw", "rtl_gen": "kanhw/rtl_gen", "sim": "kanhw/sim",
               "host": "kanhw/host", "boards": "kanhw/boards"}
    for src, dst in folders.items():
        for f in (ROOT / src).rglob("*.py"):
            assert f"{dst}/{f.relative_to(ROOT / src).as_posix()}" in names, f
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    code = ("import kanhw, kanhw.rtl_gen, kanhw.sim, kanhw.host, kanhw.boards, kanhw.cli;"
            "print(kanhw.__file__); print(kanhw.rtl_gen.__file__)")
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env=env, cwd=tmp_path).stdout.split()
    assert all(p.startswith(str(target)) for p in out), out
