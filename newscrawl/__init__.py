"""newscrawl: a news crawler that keeps the article and nothing else."""

__version__ = "0.1.0"
