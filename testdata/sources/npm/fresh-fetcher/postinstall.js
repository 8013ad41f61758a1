// Test fixture: a brand-new package whose install-time code talks to the
// network (the request goes to a documentation domain and is never made
// in tests: warden blocks before npm runs it). It writes a canary first.
const fs = require("fs");
const path = require("path");
const https = require("https");
const dir = process.env.WARDEN_CANARY_DIR;
if (dir) {
  fs.writeFileSync(path.join(dir, "fresh-fetcher"), "postinstall ran\n");
}
https.get("https://config.example.org/settings", () => {}).on("error", () => {});
