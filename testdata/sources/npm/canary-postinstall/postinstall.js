// Test fixture: stands for any install-time code. It writes a canary file so a
// test can tell whether npm ran it.
const fs = require("fs");
const path = require("path");
const dir = process.env.WARDEN_CANARY_DIR;
if (dir) {
  fs.writeFileSync(path.join(dir, "canary-postinstall"), "postinstall ran\n");
}
