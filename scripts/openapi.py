"""Write openapi.yaml from the app (`make openapi`); a test checks they stay equal."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from tracerd.app import create_app
from tracerd.config import Settings


def main() -> None:
    schema = create_app(Settings()).openapi()
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "openapi.yaml")
    out.write_text(yaml.safe_dump(schema, sort_keys=False, allow_unicode=True, width=100))


if __name__ == "__main__":
    main()
