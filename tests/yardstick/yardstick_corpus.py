"""Where Yardstick's own files are (../shared/yardstick beside the repository)."""

from pathlib import Path

YARDSTICK = Path(__file__).resolve().parents[2] / ".." / "shared" / "yardstick"
TESTCASES = sorted((YARDSTICK / "testcases").glob("*.yaml")) if YARDSTICK.exists() else []
PODS = sorted((YARDSTICK / "pod").glob("*")) if YARDSTICK.exists() else []
