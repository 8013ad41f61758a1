// Test fixture: records the environment its install script was given, so a
// test can tell what approved code sees. warden flags it (it collects the
// environment); the test allows it, as a reviewer would.
const fs = require("fs");
const path = require("path");
const dir = process.env.WARDEN_CANARY_DIR;
if (dir) {
  fs.writeFileSync(path.join(dir, "env-probe.env"), JSON.stringify(process.env));
}
