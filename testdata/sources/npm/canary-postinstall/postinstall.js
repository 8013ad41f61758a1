// Test fixture: stands for any install-time code. It writes a canary file so a
// test can tell whether npm ran it, and whether a secret from the environment
// reached it.
const fs = require("fs");
const path = require("path");
const dir = process.env.WARDEN_CANARY_DIR;
if (dir) {
  const seen = process.env.WARDEN_TEST_SECRET ? "secret visible" : "no secret";
  fs.writeFileSync(path.join(dir, "canary-postinstall"), "postinstall ran: " + seen + "\n");
}
