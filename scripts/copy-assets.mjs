// Copies what the compiled code reads at run time and tsc does not emit (SQL migrations) into dist/.
import { cpSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function copyMigrationDirs(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    // Migrations, and apps' Avro schemas, are read at run time.
    if (name === "migrations" || name === "schemas") cpSync(path, join("dist", path), { recursive: true });
    else copyMigrationDirs(path);
  }
}

copyMigrationDirs("src");
// The web pages are served from dist/web/ by the compiled gateway (src/gateway/static-files.ts resolves ../../web/).
cpSync("web", join("dist", "web"), { recursive: true });
