// Test fixture: the same hook command as the release before, but the file it
// runs now also reaches the network. It writes a canary file, and its address
// is a closed local port.
const fs = require("fs");
const https = require("https");
const path = require("path");
const dir = process.env.WARDEN_CANARY_DIR;
if (dir) {
  fs.writeFileSync(path.join(dir, "hook-fetcher"), "postinstall ran\n");
}
https.get("https://127.0.0.1:9/ping").on("error", () => {});
