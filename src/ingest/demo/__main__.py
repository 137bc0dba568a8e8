"""python -m ingest.demo serve [--port N] [--scale N] | config | truth"""

from __future__ import annotations

import argparse
import sys

from ingest.demo.server import SampleWeb
from ingest.demo.sources import sample_config_text
from ingest.demo.truth import write_ground_truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.demo")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="serve the sample web until Ctrl-C")
    serve.add_argument("--port", type=int, default=8700, help="base port (outlet k listens on port + k)")
    serve.add_argument("--scale", type=int, default=0, help="synthetic pages of the bulk outlet")
    sub.add_parser("config", help="print config/sample.yaml")
    sub.add_parser("truth", help="regenerate content/ground_truth.json")
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        SampleWeb(base_port=args.port, scale=args.scale).serve_forever()
    elif args.cmd == "config":
        sys.stdout.write(sample_config_text())
    else:
        print(write_ground_truth())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
