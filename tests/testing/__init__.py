"""Tests of the embedded ZIM server simulator (zim_async.testing)."""
