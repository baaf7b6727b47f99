"""Streaming training: the host trains a device by streaming records to it.

:class:`StreamTrainer` maps the dataset to device format, loads the initial
tables, streams training records in frames, validates in frozen mode, reads
the tables back and checkpoints them; with a multilevel schedule it refines
the tables on the host between levels. The device is a board over a serial
port, the simulated board or the soft reference (``kanhw.host.transport``);
``kanhw stream`` only parses its arguments into one.

The record order of epoch ``e`` is ``default_rng([seed, e - 1])``'s
permutation, so the fixed-point reference trained in the same order gives
the same tables bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from kanhw import classes, metrics, persist
from kanhw.arch import Architecture
from kanhw.datasets import Dataset
from kanhw.design import Design
from kanhw.errors import ConfigError, DataError
from kanhw.fixed_model import FixedBackend, FixedKAN
from kanhw.model import KAN
from kanhw.multilevel import Level, refine_fixed
from kanhw.progress import CompileNotice

from .client import Device
from .transport import open_transport

#: Device counter names -> the names every kanhw JSON summary uses.
COUNTER_NAMES = {"records": "records", "saturations": "saturated_records",
                 "clamps": "clamps", "stretches": "stretches", "cycles": "cycles"}


class StreamTrainer:
    """Train ``design`` on the device behind ``transport`` (``serial:PORT``,
    ``sim`` or ``soft``; ``baud``: the serial link's rate when the
    transport names none, e.g. the board's).

    ``epochs`` on the design's grid, or a multilevel ``schedule`` whose last
    level is the design's grid; validation after every ``validate_every``
    training records (default: each epoch); training stops at the first
    validation whose Pearson reaches ``target_pearson``. ``checkpoint``: the
    tables are saved there after every epoch, and a run resumes from it.
    ``init``: a float model quantised to the design's contract as the
    initial tables. ``faults``: rates per byte of injected link faults
    (:mod:`.faults`), seeded by ``fault_seed``; ``retries``: per frame,
    before the run ends with :class:`~kanhw.interface.protocol.LinkError`.
    """

    def __init__(self, design: Design, transport: str, baud: int | None = None, *,
                 epochs: int = 1, validate_every: int | None = None,
                 target_pearson: float | None = None, seed: int = 0,
                 schedule: list[Level] | None = None, checkpoint: str | None = None,
                 init: KAN | None = None, progress=None,
                 log: Callable[[str], None] | None = None, quiet: bool = True,
                 faults: dict[str, float] | None = None, fault_seed: int = 0,
                 retries: int = 12) -> None:
        if schedule:
            if schedule[-1].points != tuple(design.arch.points):
                raise ConfigError(f"the schedule's last level {list(schedule[-1].points)} "
                                  f"must be the design's grid {list(design.arch.points)}")
            if checkpoint:
                raise ConfigError("--checkpoint with --multilevel is not supported; "
                                  "checkpoint the finest level in a separate run")
        if init is not None and (schedule or (checkpoint and os.path.exists(checkpoint))):
            raise ConfigError("--init gives the initial tables; it cannot be combined with "
                              "--multilevel or with resuming a checkpoint")
        if init is not None and init.arch != design.arch:
            raise ConfigError(f"the initial model is a {init.arch.describe()} KAN; the design "
                              f"is {design.arch.describe()}")
        self.design = design
        self.transport = transport
        self.baud = baud
        self.levels = schedule or [Level(tuple(design.arch.points), epochs)]
        self.multilevel = bool(schedule)
        self.validate_every = validate_every
        self.target_pearson = target_pearson
        self.seed = seed
        self.checkpoint = checkpoint
        self.init = init
        self.progress = progress
        self.log = log or (lambda msg: None)
        self.quiet = quiet
        self.faults = faults
        self.fault_seed = fault_seed
        self.retries = retries
        #: the transports and devices the run opened (closed when it ends),
        #: for inspection
        self.opened: list = []
        self.devices: list[Device] = []

    def check(self, data: Dataset) -> None:
        """The dataset must fit the design: its inputs and outputs."""
        d = self.design
        if data.classes and data.y.shape[1] != d.arch.n_out:
            raise ConfigError(f"{data.name} has {data.classes} classes, which take "
                              f"{data.y.shape[1]} outputs; the design has {d.arch.n_out}")
        if data.X.shape[1] != d.n or data.y.shape[1] != d.arch.n_out:
            raise ConfigError(f"dataset {data.name} has {data.X.shape[1]} inputs and "
                              f"{data.y.shape[1]} outputs; the design takes {d.n} and "
                              f"{d.arch.n_out}")

    def identity(self, data: Dataset) -> dict:
        """What makes a run this run: a checkpoint records it, and only the
        same run resumes from it."""
        digest = hashlib.sha256()
        for a in (data.X, data.y, data.X_val, data.y_val):
            digest.update(np.ascontiguousarray(a, np.float64).tobytes())
        d = self.design
        return json.loads(json.dumps({
            "dataset": data.name, "records": len(data.X),
            "validation_records": len(data.X_val), "seed": int(self.seed),
            "design": {"arch": d.arch.to_dict(), "contract": d.contract.to_dict(),
                       "seed": int(d.seed)},
            "data_sha256": digest.hexdigest()[:16]}))

    def initial_model(self, data: Dataset) -> tuple[FixedKAN, int]:
        """The tables training starts from and the epochs already done."""
        d = self.design
        if self.init is not None:
            return FixedKAN.from_model(self.init, d.contract, data.y.min(0), data.y.max(0)), 0
        if self.checkpoint and os.path.exists(self.checkpoint):
            ck = self.checkpoint
            model = persist.load_fixed(ck)
            if model.arch != d.arch or model.contract != d.contract:
                raise ConfigError(f"{ck} holds another design's tables")
            done = model.info.get("stream_epochs", 0)
            if not isinstance(done, int) or isinstance(done, bool) or done < 0:
                raise DataError(f"{ck}: corrupt checkpoint (stream_epochs {done!r} is not a "
                                "count of epochs)")
            saved, this = model.info.get("run"), self.identity(data)
            if saved != this:
                if not isinstance(saved, dict):
                    raise ConfigError(f"{ck} does not say which run it belongs to; delete it "
                                      "or give another --checkpoint to start afresh")
                key = next(k for k in this if saved.get(k) != this[k])
                raise ConfigError(f"{ck} belongs to another run ({key} {saved.get(key)} there, "
                                  f"{this[key]} here); delete it or give another --checkpoint")
            self.log(f"resuming from {ck} after epoch {done}")
            return model, done
        first = Architecture(d.arch.sizes, self.levels[0].points)
        return FixedKAN.initialise(first, d.contract, data.X.min(0), data.X.max(0),
                                   data.y.min(0), data.y.max(0), seed=d.seed), 0

    def run(self, data: Dataset) -> tuple[FixedKAN, dict]:
        """Train on ``data``; returns the trained tables and the summary."""
        self.check(data)
        with CompileNotice(FixedBackend.KERNELS, quiet=self.quiet,
                           what="the fixed-point kernels") as note:
            model, start_epoch = self.initial_model(data)
            # the soft device, the host's refinement and the checks all run
            # the integer kernels: compile them once, saying so
            FixedBackend(model.copy()).compile(note.step)
        d = self.design
        total = sum(lv.epochs for lv in self.levels)
        Yq = model.map_targets(data.y)
        Yvq = np.clip(np.floor((data.y_val - model.t_centre) / model.t_half
                               * 2.0 ** d.contract.value_frac + 0.5),
                      d.contract.value_min, d.contract.value_max).astype(np.int64)
        t0 = time.perf_counter()
        trained = 0
        entry: dict = {}
        epoch = 0
        reached: bool | None = None
        counters: dict = {}
        pred = None
        input_clamps = 0
        dev, opened = None, None
        retried = 0                          # frames the link made the host send again
        ran_on: list[dict] = []              # where each level trained
        try:
            for li, level in enumerate(self.levels):
                if li:
                    # read back, prolong onto the finer grid, load again
                    model = refine_fixed(model, level.points)
                    self.log(f"level {li + 1}: grids refined to {list(level.points)} points")
                # A level on the design's inner grid runs on the device: the
                # core takes a coarser outer grid on the same tables (its
                # outer_points register, set as the tables load). Another
                # inner grid needs another design: a serial board holds one
                # bitstream, so such a level runs on the reference behind
                # the same protocol.
                on_core = level.points[0] == d.arch.points[0]
                level_design = d if on_core else \
                    replace(d, arch=Architecture(d.arch.sizes, level.points))
                transport = self.transport if (on_core or not self.transport.startswith(
                    "serial")) else "soft"
                if dev is None or dev.design != level_design or transport != opened:
                    if dev is not None:
                        retried += dev.retried
                        dev.t.close()
                    t = open_transport(transport, level_design, self.baud, self.faults,
                                       self.fault_seed + len(self.opened))
                    self.opened.append(t)
                    dev = Device(t, level_design, retries=self.retries)
                    self.devices.append(dev)
                    opened = transport
                ran_on.append({"points": list(level.points), "transport": transport,
                               "design_points": list(level_design.arch.points)})
                dev.reset()
                dev.load_model(model)
                dev.clear_counters()
                U, clamped = model.map_inputs(data.X)
                Uv, clamped_val = model.map_inputs(data.X_val)
                input_clamps = clamped + clamped_val
                n = len(U)
                every = self.validate_every or n
                for _ in range(level.epochs):
                    epoch += 1
                    if epoch <= start_epoch:
                        continue
                    order = np.random.default_rng([self.seed, epoch - 1]).permutation(n)
                    if self.progress:
                        self.progress.start_epoch(epoch, total, n)
                    sq = 0.0
                    for s in range(0, n, every):
                        part = order[s:s + every]
                        dev.set_mode(True)
                        _, resid = dev.stream(U[part], Yq[part])
                        sq += float((model.unmap_values(resid) ** 2).sum())
                        trained += part.size
                        if self.progress:
                            self.progress.advance(part.size)
                        dev.set_mode(False)
                        pred, _ = dev.stream(Uv, Yvq)
                        out = model.unmap_outputs(np.asarray(pred).reshape(len(Uv), -1))
                        m = metrics.summary(out, data.y_val)
                        entry = {"epoch": epoch, "records": ((epoch - 1) * n) + s + part.size,
                                 "seconds": round(time.perf_counter() - t0, 3),
                                 "train_rmse": [float(np.sqrt(sq / (s + part.size)))],
                                 "validation_pearson": m["pearson"],
                                 "validation_rmse": m["rmse"],
                                 "validation_relative_rmse": m["relative_rmse"]}
                        if data.classes:
                            entry["validation_accuracy"] = metrics.accuracy(out, data.y_val)
                        if self.multilevel:
                            entry["level"] = li + 1
                        if self.target_pearson is not None and m["pearson"]:
                            reached = min(m["pearson"]) >= self.target_pearson
                            if reached:
                                break
                    model = dev.read_model(model)
                    model.history.append(entry)
                    model.info.update(stream_epochs=epoch, dataset=data.name,
                                      transport=self.transport, run=self.identity(data))
                    if self.progress:
                        self.progress.end_epoch(entry)
                    if self.checkpoint:
                        persist.save(model, self.checkpoint)
                    if reached:
                        break
                for k, v in dev.counters().items():
                    name = COUNTER_NAMES.get(k, k)
                    counters[name] = counters.get(name, 0) + v
                if reached:
                    break
        finally:
            if dev is not None:
                retried += dev.retried
                dev.t.close()
        counters["input_clamps"] = input_clamps
        seconds = time.perf_counter() - t0
        summary = {"transport": self.transport, "dataset": data.name, "epochs": epoch,
                   "records": trained, "seconds": round(seconds, 3),
                   "records_per_s": round(trained / seconds, 1) if seconds else 0.0,
                   "validation_pearson": entry.get("validation_pearson", []),
                   "validation_rmse": entry.get("validation_rmse", []),
                   "validation_relative_rmse": entry.get("validation_relative_rmse", []),
                   "architecture": d.arch.to_dict(), "counters": counters,
                   "levels": ran_on, "link": {"retried_frames": retried}}
        if self.faults:
            injected: dict = {}
            for t in self.opened:
                for k, v in getattr(t, "injected", {}).items():
                    injected[k] = injected.get(k, 0) + v
            summary["link"]["faults_injected"] = injected
        if self.target_pearson is not None:
            summary["reached_target"] = bool(reached)
        if data.classes and pred is not None:
            rep = classes.report(model.unmap_outputs(np.asarray(pred).reshape(len(Uv), -1)),
                                 data.y_val,
                                 data.class_names, data.y)
            summary["classification"] = rep
            summary["validation_accuracy"] = rep["accuracy"]
        return model, summary
