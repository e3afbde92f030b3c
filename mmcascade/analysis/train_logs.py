"""Read training logs into one shape: our mmengine ``vis_data/scalars.json`` and the
MMDetection v2 ``*.log.json`` that the published model zoo links (one JSON dict per line)."""

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path


class LogFormatError(ValueError):
    """A log line is not JSON, or the file is neither of the two known formats."""


@dataclass(frozen=True)
class TrainRecord:
    epoch: int
    iteration: int  # global iteration (1-based)
    values: dict[str, float]  # loss, lr, time, s0.loss_cls ...


@dataclass(frozen=True)
class ValRecord:
    epoch: int
    metrics: dict[str, float]  # 'bbox_mAP', 'segm_mAP_75' ... (prefixes such as 'coco/' removed)


@dataclass
class TrainLog:
    path: str
    train: list[TrainRecord] = field(default_factory=list)
    val: list[ValRecord] = field(default_factory=list)

    def keys(self) -> set[str]:
        out = set()
        for r in self.train:
            out.update(r.values)
        for r in self.val:
            out.update(r.metrics)
        return out


def _numbers(record: dict, skip: tuple[str, ...]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in record.items()
        if k not in skip and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def _read_lines(path: Path) -> list[dict]:
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise LogFormatError(f"{path}:{n}: not a JSON line ({exc.msg})") from exc
    return records


def _parse_mmdet_v2(path: Path, records: list[dict]) -> TrainLog:
    """``mode`` train/val lines; ``iter`` counts within the epoch for train lines and is the
    epoch length on val lines."""
    log = TrainLog(str(path))
    per_epoch = {r["epoch"]: r["iter"] for r in records if r.get("mode") == "val" and "iter" in r}
    seen_max: dict[int, int] = {}
    for r in records:
        if r.get("mode") == "train":
            seen_max[r["epoch"]] = max(seen_max.get(r["epoch"], 0), r["iter"])
    length = max(per_epoch.values(), default=0) or max(seen_max.values(), default=0)
    for r in records:
        if r.get("mode") == "train":
            values = _numbers(r, ("epoch", "iter", "mode"))
            log.train.append(TrainRecord(r["epoch"], (r["epoch"] - 1) * length + r["iter"], values))
        elif r.get("mode") == "val":
            log.val.append(
                ValRecord(r["epoch"], _numbers(r, ("epoch", "iter", "mode", "lr", "time", "memory", "data_time")))
            )
    return log


def _parse_mmengine(path: Path, records: list[dict]) -> TrainLog:
    """Train lines carry ``epoch`` / ``iter`` (global) / ``step``; validation lines carry
    ``<prefix>/<metric>`` keys and ``step`` = epoch."""
    log = TrainLog(str(path))
    for r in records:
        if any("/" in k for k in r):
            metrics = {k.split("/", 1)[1]: float(v) for k, v in r.items() if "/" in k and isinstance(v, (int, float))}
            log.val.append(ValRecord(int(r.get("epoch", r["step"])), metrics))
        elif "iter" in r:
            log.train.append(TrainRecord(int(r["epoch"]), int(r["iter"]), _numbers(r, ("epoch", "iter", "step"))))
    return log


def load_train_log(path: str | Path) -> TrainLog:
    """Parse either format, telling them apart by the ``mode`` key of MMDetection v2 lines."""
    path = Path(path)
    records = _read_lines(path)
    if any("mode" in r for r in records):
        return _parse_mmdet_v2(path, records)
    if any("iter" in r or "step" in r for r in records):
        return _parse_mmengine(path, records)
    raise LogFormatError(f"{path}: neither an MMDetection v2 log.json nor an mmengine scalars.json")


@dataclass(frozen=True)
class TrainTime:
    mean_iter_s: float
    slowest_epoch: tuple[int, float]  # (epoch, mean seconds per iteration)
    fastest_epoch: tuple[int, float]
    epoch_std_s: float  # std of the per-epoch means


def train_time(log: TrainLog, include_outliers: bool = False) -> TrainTime:
    """Seconds per iteration from the logged ``time`` values; the first logged value of each
    epoch (data-loader start-up) is left out unless ``include_outliers``."""
    per_epoch: dict[int, list[float]] = {}
    for r in log.train:
        if "time" in r.values:
            per_epoch.setdefault(r.epoch, []).append(r.values["time"])
    if not per_epoch:
        raise LogFormatError(f"{log.path}: no 'time' values in training lines")
    means = {}
    for epoch, times in per_epoch.items():
        kept = times if include_outliers or len(times) == 1 else times[1:]
        means[epoch] = sum(kept) / len(kept)
    slow = max(means.items(), key=lambda kv: kv[1])
    fast = min(means.items(), key=lambda kv: kv[1])
    std = statistics.pstdev(means.values()) if len(means) > 1 else 0.0
    return TrainTime(sum(means.values()) / len(means), slow, fast, std)
