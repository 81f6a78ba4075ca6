"""Online scoring with River: sentiment of interaction texts (and, next, churn risk)."""
