// Reads the SASL users file given to `sluice broker --sasl-users`: one `username:password` per line, split at the
// first colon (so passwords may contain colons), with blank lines and lines starting with `#` ignored.

import { readFileSync } from "node:fs";
import { SASL_USERS_MAX } from "../broker/sasl/user-store.js";
import { CliError } from "./command.js";

export const SASL_USERS_FILE_BYTES_MAX = 4 * 1024 * 1024;

export function parseSaslUsers(text: string, fileName: string): Record<string, string> {
  const users: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.replace(/\r$/, "");
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const where = `${fileName} line ${index + 1}`;
    const colonIndex = line.indexOf(":");
    if (colonIndex === -1)
      throw new CliError(`${where} is not username:password`, "Write one username:password per line.");
    const username = line.slice(0, colonIndex);
    const password = line.slice(colonIndex + 1);
    if (username === "") throw new CliError(`${where} has an empty user name`, "Write one username:password per line.");
    if (password === "")
      throw new CliError(`${where} has an empty password for ${username}`, "Give every user a password.");
    if (username in users) throw new CliError(`${where} repeats the user ${username}`, "List each user once.");
    if (++count > SASL_USERS_MAX) {
      throw new CliError(`${fileName} lists more than ${SASL_USERS_MAX} users`, "Split the users across brokers.");
    }
    users[username] = password;
  }
  if (count === 0) throw new CliError(`${fileName} lists no users`, "Add at least one username:password line.");
  return users;
}

export function readSaslUsersFile(path: string): Record<string, string> {
  let contents: Buffer;
  try {
    contents = readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot read the SASL users file: ${reason}`, "Give --sasl-users a readable file.");
  }
  if (contents.length > SASL_USERS_FILE_BYTES_MAX) {
    throw new CliError(`${path} is larger than ${SASL_USERS_FILE_BYTES_MAX} bytes`, "Is it the right file?");
  }
  return parseSaslUsers(contents.toString("utf8"), path);
}
