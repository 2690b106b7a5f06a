"""Per-pool diversity criteria and DivPO preference-pair selection (pure functions)."""
