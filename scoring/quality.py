"""How good a model is right now: rolling metrics over its latest labels, and a drift
detector on its errors. Fed with (truth, predicted probability) before the model learns."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from river import drift, metrics, utils

WINDOW = 1000


@dataclass(frozen=True, slots=True)
class Snapshot:
    labels: int
    roc_auc: float | None  # None while the window holds one class only: undefined
    log_loss: float
    accuracy: float


@dataclass
class ModelQuality:
    """RollingROCAUC is exact over its window (every threshold), unlike ROCAUC's default
    10 thresholds that read 0.01-0.03 low, but it reads 0.0 while its window holds a single
    class, where the area is undefined: a worker whose recent churn labels were all
    positives would look like a model ranking every customer backwards. ADWIN watches the
    0/1 error stream."""

    window: int = WINDOW
    labels: int = 0
    drifts: int = 0
    roc_auc: metrics.RollingROCAUC = field(init=False)
    log_loss: utils.Rolling[metrics.LogLoss] = field(init=False)
    accuracy: utils.Rolling[metrics.Accuracy] = field(init=False)
    detector: drift.ADWIN = field(init=False)
    _window_truths: deque[bool] = field(init=False)  # which classes RollingROCAUC holds

    def __post_init__(self) -> None:
        self._window_truths = deque(maxlen=self.window)
        self.roc_auc = metrics.RollingROCAUC(window_size=self.window)
        self.log_loss = utils.Rolling(metrics.LogLoss(), window_size=self.window)
        self.accuracy = utils.Rolling(metrics.Accuracy(), window_size=self.window)
        self.detector = drift.ADWIN()

    def update(self, truth: bool, p_true: float) -> bool:
        """Record one labelled prediction; True when the error rate has just drifted."""
        self.labels += 1
        self._window_truths.append(truth)
        self.roc_auc.update(truth, p_true)
        self.log_loss.update(truth, {True: p_true, False: 1.0 - p_true})
        self.accuracy.update(truth, p_true >= 0.5)
        self.detector.update(float((p_true >= 0.5) != truth))
        if self.detector.drift_detected:
            self.drifts += 1
            return True
        return False

    def snapshot(self) -> Snapshot:
        # Rolling forwards get() to the wrapped metric; its type says only "object".
        both_classes = 0 < sum(self._window_truths) < len(self._window_truths)
        return Snapshot(self.labels, self.roc_auc.get() if both_classes else None,
                        self.log_loss.obj.get(), self.accuracy.obj.get())
