// Every app `sluice up` can run, in the order it starts and lists them. An app adds one line here.

import type { AppManifest } from "./app.js";
import { jobsApp } from "./jobs/manifest.js";
import { messagesApp } from "./messages/manifest.js";
import { wordiumApp } from "./wordium/manifest.js";

export const APPS: readonly AppManifest[] = [messagesApp, wordiumApp, jobsApp];
