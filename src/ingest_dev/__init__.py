"""Development tools, not installed with the product: the synthetic dedup dev set and the extraction
bench. On the path of `make install`'s venv only (a .pth file), never in a wheel."""
