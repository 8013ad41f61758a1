# Test fixture: stands for any build-time code in an sdist. It writes a canary
# file so a test can tell whether the build ran it.
import os
import pathlib

canary_dir = os.environ.get("WARDEN_CANARY_DIR")
if canary_dir:
    pathlib.Path(canary_dir, "canary-setup").write_text("setup.py ran\n")
