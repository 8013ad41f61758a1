// Test fixture: looks like a dropper to warden's rules. When run, it only
// writes a canary file, so a test can tell whether npm ran it.
const fs = require("fs");
const path = require("path");
const dir = process.env.WARDEN_CANARY_DIR;
if (dir) {
  fs.writeFileSync(path.join(dir, "evil-dropper"), "install.js ran\n");
}
require("./lib/stage");
