"""Imported once by the worker pool's fork server, before it forks any worker: the
stages' modules, their rules and the language detector are loaded here, so every worker
starts warm and the detector's models (hundreds of MB) are shared by the workers instead
of being loaded by each."""

from pipelines import decruft, extract, jobs, normalise, validate  # noqa: F401

decruft.load_rules()
normalise.language_detector()
validate._validator()
