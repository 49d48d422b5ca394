"""``secretinj preflight``: predict, before deploying, whether secret injection will succeed.

`rbac` and `roles` hold Azure RBAC semantics and the built-in roles that matter; the mock
serves the same definitions. Nothing here imports azure-identity, requests or PyYAML.
"""
