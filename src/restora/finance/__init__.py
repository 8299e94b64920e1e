"""Cash-flow metrics, financing instruments, pricing and risk."""
