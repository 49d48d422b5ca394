"""The sample scoring script, its deployment YAML and the ``make demo`` driver."""
