"""Spiders: `news` (any site, from a start URL) and one spider per outlet record."""
