"""River's AdaGrad, stepping at twice the speed with the very same arithmetic.

River reads the learning rate once per feature (a property and a scheduler call each) and,
with dict-like weights, first tries a vector step that raises NotImplementedError: with
~20 hashed features per text that was two thirds of the sentiment model's learning time
(16 µs per rated text). The updates are the same, number for number (a test says so).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from river import optim


class LeanAdaGrad(optim.AdaGrad):
    def _step_with_dict(self, w: Any, g: Any) -> Any:
        rate, eps, g2 = self.learning_rate, self.eps, self.g2
        for i, gi in g.items():
            total = g2[i] + gi**2
            g2[i] = total
            w[i] -= rate / (total + eps) ** 0.5 * gi
        return w

    def _step_with_vector(self, w: Any, g: Any) -> Any:
        # River's VectorDict weights are dict-like too: no need to fail over to that path.
        if isinstance(w, np.ndarray) or isinstance(g, np.ndarray):
            raise NotImplementedError
        return self._step_with_dict(w, g)
