"""Dedup: fingerprints, candidate search and verification that group syndicated copies into stories."""
