"""The per-user daemon (unix socket server), its control functions and the stdio bridge."""
