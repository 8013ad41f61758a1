# Test fixture: a payload in the package's __init__.py, run on the first
# import, with no install-time code. Decoded, it only writes a canary file.
import base64

VALUE = 1
exec(base64.b64decode("aW1wb3J0IG9zLCBwYXRobGliCmQgPSBvcy5lbnZpcm9uLmdldCgnV0FSREVOX0NBTkFSWV9ESVInKQppZiBkOiBwYXRobGliLlBhdGgoZCwgJ3J1bnRpbWUtcGF5bG9hZC1weScpLndyaXRlX3RleHQoJ3JhbiBvbiBpbXBvcnRcbicpCg=="))
