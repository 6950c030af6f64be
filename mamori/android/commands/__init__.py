"""Device commands (helper D's package; this branch carries only ``lifecycle.operation_apply``)."""
