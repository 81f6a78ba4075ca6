"""Online churn and sentiment scoring with River (see the open scoring issue)."""
