# Test fixture: build-time code carrying a packed blob, the shape of an
# obfuscated payload (here: hashes of a fixed phrase, never decoded or run).
# It writes a canary file so a test can tell whether the build ran it.
import os
import pathlib

_BLOB = "t+LyD77mtZI05BIkQHXodRxo1yRbKYvAT0F7h2FEfqSki2Ccm/3o1AMiX3PLJ6dL9yJhxp1lrvEoMK4GHqISTv7vPjdV4wS7d7x748WbotNlASzpVOFC3umY7u+LY6lEwrC7zsgK6x+YlYN4kN7tzRCaVMXCmUFkJ7H8/lYM7x2yt5CuDu89VsTd4ICF5I2Nvvj3xGzIm0hZUJzbShhQoZtR1pFwZcRq9dZhovMa/ZRqleOs6ayeIKPMnVQ1KMG1/pm/wjynoijm15ZkJ35sAxcddOd0otGaR6P3ReRLNyZiAweRL3IfqdTw5PmKuCQe"

canary_dir = os.environ.get("WARDEN_CANARY_DIR")
if canary_dir:
    pathlib.Path(canary_dir, "packed-setup").write_text("setup.py ran\n")
