// Writes docs/broker-configs.md from the config tables in src/broker/configs/.
// Run: npm run gen:config-docs

import { writeFileSync } from "node:fs";
import { renderConfigDocs } from "../src/broker/configs/docs.js";

writeFileSync("docs/broker-configs.md", renderConfigDocs());
