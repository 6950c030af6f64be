"""Android Enterprise: AMAPI gateway, sandbox, policies, enrollment."""
